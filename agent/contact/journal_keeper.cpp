#include "agent/contact/journal_keeper.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "agent/daemon/agent_log.h"
#include "common/files.h"

namespace lifeboat::agent {

namespace {

// How long a copy waits for an unreachable controller before the keeper says no (and apply
// stops, to be resumed at the next visit). Below the agent's own wait for an answer.
constexpr double kRetrySeconds = 120;

}  // namespace

Result<std::unique_ptr<JournalKeeper>> JournalKeeper::Start(ControllerClient& client,
                                                            std::string machine_id,
                                                            std::string socket_path,
                                                            std::string copy_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path)
    return Fail(ErrorCode::kInvalidArgument,
                "journal keeper: the socket path " + socket_path + " is too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  std::error_code ec;
  std::filesystem::remove(socket_path, ec);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Fail(ErrorCode::kIo, std::string("journal keeper: socket: ") + strerror(errno));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      listen(fd, 4) != 0) {
    const std::string why = strerror(errno);
    close(fd);
    return Fail(ErrorCode::kIo, "journal keeper: listen on " + socket_path + ": " + why);
  }
  return std::unique_ptr<JournalKeeper>(new JournalKeeper(
      client, std::move(machine_id), std::move(socket_path), std::move(copy_path), fd));
}

JournalKeeper::JournalKeeper(ControllerClient& client, std::string machine_id,
                             std::string socket_path, std::string copy_path, int fd)
    : client_(client),
      machine_id_(std::move(machine_id)),
      socket_path_(std::move(socket_path)),
      copy_path_(std::move(copy_path)),
      listen_fd_(fd),
      thread_([this] { Serve(); }) {}

JournalKeeper::~JournalKeeper() {
  stopping_ = true;
  thread_.join();
  close(listen_fd_);
  std::error_code ec;
  std::filesystem::remove(socket_path_, ec);
}

void JournalKeeper::Serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Answer(connection);
    close(connection);
  }
}

void JournalKeeper::Answer(int connection) {
  timeval timeout{10, 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string request;
  char buffer[512];
  while (request.find('\n') == std::string::npos && request.size() < 4096) {
    const ssize_t n = recv(connection, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  request = request.substr(0, request.find('\n'));
  std::string answer = "ok\n";
  if (!request.starts_with("keep ")) {
    answer = "error the journal keeper understands only 'keep PATH'\n";
  } else if (auto kept = Keep(request.substr(5)); !kept) {
    answer = "error " + kept.error().message + "\n";
    LogLine("journal: " + kept.error().message);
  }
  (void)send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
}

Result<void> JournalKeeper::Keep(const std::string& path) {
  // Only the journal's own copy leaves the machine, whatever a caller on the socket asks for.
  if (path != copy_path_)
    return Fail(ErrorCode::kInvalidArgument,
                "the journal keeper sends only " + copy_path_ + ", not " + path);
  auto copy = ReadTextFile(path);
  if (!copy) return Fail(ErrorCode::kNotFound, "cannot read the journal's copy " + path);
  Result<void> saved;
  for (double waited = 0, backoff = 1;; waited += backoff, backoff = std::min(backoff * 2, 10.0)) {
    saved = client_.SaveJournal(machine_id_, *copy);
    if (saved || saved.error().code != ErrorCode::kBusy || waited >= kRetrySeconds) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
  }
  if (!saved) return std::unexpected(saved.error());
  ++kept_;
  return {};
}

Result<bool> RestoreJournal(ControllerClient& client, const std::string& machine_id,
                            const std::string& journal_path) {
  std::error_code ec;
  if (std::filesystem::exists(journal_path, ec)) return false;
  auto kept = client.LoadJournal(machine_id);
  LIFEBOAT_TRY(kept);
  if (!*kept) return false;
  LIFEBOAT_TRY(WriteFileAtomically(journal_path, **kept, 0600));
  return true;
}

}  // namespace lifeboat::agent
