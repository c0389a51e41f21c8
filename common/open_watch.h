// Tells which watched folder had a file opened, and which file, by anyone: the kernel's inotify
// (IN_OPEN), the one place Lifeboat uses it. The controller learns this way that a machine has
// started loading what its network boot was given, whichever TFTP or HTTP server reads the file
// (dnsmasq, QEMU's own TFTP in tests, the controller's HTTP): each boot gets a folder of its own.
// Only opens through a watched folder's own entries are seen; the same file opened through
// another name (a hard link elsewhere) is not.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.h"

namespace lifeboat {

class OpenWatch {
 public:
  // `opened(tag, name)` runs on the watch's own thread for each open of a file directly inside a
  // watched folder (not in its subfolders), with no lock held: it may call Add and Remove.
  using Opened = std::function<void(const std::string& tag, const std::string& name)>;

  // Errors: kIo (no inotify instance: the per-user limit is reached).
  [[nodiscard]] static Result<std::unique_ptr<OpenWatch>> Start(Opened opened);
  ~OpenWatch();
  OpenWatch(const OpenWatch&) = delete;
  OpenWatch& operator=(const OpenWatch&) = delete;

  // Watches `folder` under `tag` (one folder per tag; watching again replaces). Errors: kNotFound,
  // kIo (the per-user limit of watches).
  [[nodiscard]] Result<void> Add(const std::string& tag, const std::string& folder);
  // Stops watching the tag's folder; nothing for an unknown tag.
  void Remove(const std::string& tag);

 private:
  OpenWatch(int fd, int wake_fd, Opened opened);
  void Loop(std::stop_token stop);

  const int fd_;       // the inotify instance
  const int wake_fd_;  // an eventfd that ends the loop's poll
  Opened opened_;
  std::mutex mutex_;
  std::map<int, std::string> tags_;  // watch descriptor -> tag
  std::jthread thread_;
};

}  // namespace lifeboat
