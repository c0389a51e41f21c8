#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace lifeboat {
namespace {

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(begin, end - begin);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    begin = end + 1;
  }
  return {};
}

std::string Trimmed(const std::string& s) {
  size_t end = s.find_last_not_of(" \n\t\r");
  return end == std::string::npos ? std::string{} : s.substr(0, end + 1);
}

}  // namespace

std::string ProcessOutput::Summary(const std::string& program) const {
  std::string text = Trimmed(err).empty() ? Trimmed(out) : Trimmed(err);
  // The last lines carry the reason; a whole progress log does not help a person.
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  return program + " exited with " + std::to_string(exit_code) + (text.empty() ? "" : ": " + text);
}

namespace {

// `on_output`, when given, receives standard output as it arrives instead of result.out; `feed`,
// when given, supplies standard input instead of `input` (a byte count per call, 0 at the end).
Result<ProcessOutput> Run(const std::vector<std::string>& argv, const std::string& input,
                          const std::function<void(const std::string&)>& on_error_line,
                          const std::function<void(std::string_view)>& on_output,
                          const std::function<size_t(char*, size_t)>& feed = nullptr) {
  if (argv.empty()) return Fail(ErrorCode::kInvalidArgument, "no program given");
  std::string program = FindProgram(argv[0]);
  if (program.empty()) {
    return Fail(ErrorCode::kTool,
                argv[0] + ": program not found (is its package installed? run scripts/setup)");
  }
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Each tool runs in its own session: a kill aimed at the agent's process group or terminal
  // (Ctrl-C, a supervisor's group kill) does not cut ntfsresize short half-way, which it does not
  // survive. It still dies with the machine; the journal covers that.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Fail(ErrorCode::kTool, argv[0] + ": cannot start: " + std::strerror(rc));
  }
  // Feed stdin and drain stdout/stderr together so a chatty program never blocks on a full pipe.
  ProcessOutput result;
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty() && !feed) {
    close(in_fd);
    in_fd = -1;
  }
  std::vector<char> fed;  // what `feed` gave that the pipe has not taken yet
  size_t fed_at = 0;
  if (feed) {
    fcntl(in_fd, F_SETPIPE_SZ, 1 << 20);
    fed.resize(1 << 20);
    fed.resize(feed(fed.data(), fed.size()));
    if (fed.empty()) {
      close(in_fd);
      in_fd = -1;
    }
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  // A program that prints a whole file (mcopy to stdout) moves it through the pipe: large reads,
  // and a pipe larger than the default 64 KiB, keep that from costing a system call per page.
  std::vector<char> buf(on_output ? (1 << 20) : 8192);
  if (on_output) fcntl(out_fd, F_SETPIPE_SZ, 1 << 20);
  size_t err_lines_seen = 0;  // result.err up to here was handed to on_error_line
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd && feed) {
        ssize_t w = write(in_fd, fed.data() + fed_at, fed.size() - fed_at);
        if (w > 0) fed_at += static_cast<size_t>(w);
        if (w > 0 && fed_at == fed.size()) {
          fed.resize(1 << 20);
          fed.resize(feed(fed.data(), fed.size()));
          fed_at = 0;
        }
        if ((w < 0 && errno != EINTR && errno != EAGAIN) || fed.empty()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t r = read(fds[i].fd, buf.data(), buf.size());
      if (r > 0) {
        if (fds[i].fd == out_fd && on_output)
          on_output(std::string_view(buf.data(), static_cast<size_t>(r)));
        else
          (fds[i].fd == out_fd ? result.out : result.err)
              .append(buf.data(), static_cast<size_t>(r));
        if (fds[i].fd == err_fd && on_error_line) {
          for (size_t newline;
               (newline = result.err.find('\n', err_lines_seen)) != std::string::npos;
               err_lines_seen = newline + 1)
            on_error_line(result.err.substr(err_lines_seen, newline - err_lines_seen));
        }
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const std::string& input) {
  return Run(argv, input, nullptr, nullptr);
}

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const std::string& input,
                                 const std::function<void(const std::string&)>& on_error_line) {
  return Run(argv, input, on_error_line, nullptr);
}

Result<ProcessOutput> RunProcessStreaming(const std::vector<std::string>& argv,
                                          const std::function<void(std::string_view)>& on_output) {
  return Run(argv, {}, nullptr, on_output);
}

Result<ProcessOutput> RunProcessFed(const std::vector<std::string>& argv,
                                    const std::function<size_t(char*, size_t)>& feed) {
  return Run(argv, {}, nullptr, nullptr, feed);
}

Result<ProcessOutput> RunChecked(const std::vector<std::string>& argv, const std::string& input) {
  auto result = RunProcess(argv, input);
  if (!result) return result;
  if (result->exit_code != 0) return Fail(ErrorCode::kTool, result->Summary(argv[0]));
  return result;
}

}  // namespace lifeboat
