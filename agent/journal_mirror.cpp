#include "agent/journal_mirror.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lifeboat::agent {

namespace {

// Closes the descriptor on every path out.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

Result<void> AskToKeep(const std::string& socket_path, const std::string& copy_path) {
  const std::string where = "the journal keeper at " + socket_path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path)
    return Fail(ErrorCode::kInvalidArgument, where + ": the path is too long for a socket");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Socket s;
  s.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return Fail(ErrorCode::kIo, where + ": socket: " + std::strerror(errno));
  timeval timeout{kJournalMirrorTimeoutSeconds, 0};
  setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(s.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return Fail(ErrorCode::kBusy, where + " does not answer (" + std::strerror(errno) + ")");
  const std::string request = "keep " + copy_path + "\n";
  if (send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return Fail(ErrorCode::kIo, where + ": send: " + std::strerror(errno));
  std::string answer;
  char buffer[512];
  while (answer.find('\n') == std::string::npos && answer.size() < 8192) {
    const ssize_t n = recv(s.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Fail(ErrorCode::kBusy, where + " did not answer in " +
                                        std::to_string(kJournalMirrorTimeoutSeconds) + " s");
    if (n == 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  answer = answer.substr(0, answer.find('\n'));
  if (answer == "ok") return {};
  if (answer.starts_with("error ")) return Fail(ErrorCode::kBusy, answer.substr(6));
  return Fail(ErrorCode::kIo, where + " gave no answer");
}

}  // namespace

JournalStore::Mirror JournalMirrorAt(const std::string& socket_path) {
  return [socket_path](const std::string& copy_path) { return AskToKeep(socket_path, copy_path); };
}

}  // namespace lifeboat::agent
