#include "common/writeback.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

namespace lifeboat {

BackgroundWriteback::BackgroundWriteback(std::string path)
    : thread_([this, path = std::move(path)] {
        int fd = -1;
        while (!stop_.load()) {
          if (fd < 0) fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
          if (fd >= 0) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (fd >= 0) close(fd);
      }) {}

BackgroundWriteback::~BackgroundWriteback() {
  stop_ = true;
  thread_.join();
}

}  // namespace lifeboat
