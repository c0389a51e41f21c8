#include "common/open_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace lifeboat {

Result<std::unique_ptr<OpenWatch>> OpenWatch::Start(Opened opened) {
  const int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return Fail(ErrorCode::kIo, std::string("inotify: ") + std::strerror(errno));
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    close(fd);
    return Fail(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
  }
  return std::unique_ptr<OpenWatch>(new OpenWatch(fd, wake, std::move(opened)));
}

OpenWatch::OpenWatch(int fd, int wake_fd, Opened opened)
    : fd_(fd), wake_fd_(wake_fd), opened_(std::move(opened)) {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

OpenWatch::~OpenWatch() {
  thread_.request_stop();
  const uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(fd_);
  close(wake_fd_);
}

Result<void> OpenWatch::Add(const std::string& tag, const std::string& folder) {
  // IN_ONLYDIR: a folder or nothing. IN_OPEN on a folder's watch reports its files' opens (and
  // its own, when it is listed, which names no file and is skipped below).
  const int wd = inotify_add_watch(fd_, folder.c_str(), IN_OPEN | IN_ONLYDIR);
  if (wd < 0)
    return Fail(errno == ENOENT || errno == ENOTDIR ? ErrorCode::kNotFound : ErrorCode::kIo,
                "watch " + folder + ": " + std::strerror(errno));
  std::lock_guard lock(mutex_);
  for (auto it = tags_.begin(); it != tags_.end(); ++it)
    if (it->second == tag && it->first != wd) {
      inotify_rm_watch(fd_, it->first);
      tags_.erase(it);
      break;
    }
  tags_[wd] = tag;
  return {};
}

void OpenWatch::Remove(const std::string& tag) {
  std::lock_guard lock(mutex_);
  for (auto it = tags_.begin(); it != tags_.end(); ++it)
    if (it->second == tag) {
      inotify_rm_watch(fd_, it->first);
      tags_.erase(it);
      return;
    }
}

void OpenWatch::Loop(std::stop_token stop) {
  alignas(inotify_event) char buffer[16 * 1024];
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stop.stop_requested() || (fds[1].revents & POLLIN)) return;
    const ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n <= 0) continue;
    std::vector<std::pair<std::string, std::string>> seen;
    {
      std::lock_guard lock(mutex_);
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if (event->mask & IN_IGNORED) {  // the folder is gone (or Remove): so is its watch
          tags_.erase(event->wd);
          continue;
        }
        if (!(event->mask & IN_OPEN) || (event->mask & IN_ISDIR) || event->len == 0) continue;
        auto tag = tags_.find(event->wd);
        if (tag != tags_.end()) seen.emplace_back(tag->second, event->name);
      }
    }
    for (const auto& [tag, name] : seen) opened_(tag, name);
  }
}

}  // namespace lifeboat
