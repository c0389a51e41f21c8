// Starts the kernel writing a file's (or block device's) dirty pages to disk while another
// program is still writing it (xorriso mastering an ISO, mtools filling a USB stick), so that the
// fsync after it waits only for the tail instead of for everything. The data is still made
// durable by that fsync; this only moves the disk's work earlier, beside the program's.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace lifeboat {

class BackgroundWriteback {
 public:
  // Every 100 ms, asks for write-out (sync_file_range, SYNC_FILE_RANGE_WRITE: it does not wait)
  // of `path`, once it exists. Stops when destroyed.
  explicit BackgroundWriteback(std::string path);
  ~BackgroundWriteback();
  BackgroundWriteback(const BackgroundWriteback&) = delete;
  BackgroundWriteback& operator=(const BackgroundWriteback&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lifeboat
