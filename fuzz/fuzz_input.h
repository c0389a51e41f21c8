// Fuzz inputs as the code under test reads them: a file in /dev/shm (memory), so that libfdisk,
// wimlib and hivex read fuzz bytes through their normal file paths. (Not a memfd: wimlib resolves
// the path it is given with realpath(), which a memfd's /proc/self/fd link does not survive.)
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace lifeboat::fuzz {

class MemoryFile {
 public:
  // `size`: the file's length (0: the input's); `tail` bytes go at its end (a GPT's backup).
  MemoryFile(const uint8_t* data, size_t length, size_t size = 0, const uint8_t* tail = nullptr,
             size_t tail_length = 0) {
    char name[] = "/dev/shm/lifeboat-fuzz-XXXXXX";
    fd_ = mkstemp(name);
    if (fd_ < 0) return;
    name_ = name;
    if (size == 0) size = length;
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return;
    if (length && pwrite(fd_, data, length < size ? length : size, 0) < 0) return;
    if (tail_length && tail_length <= size &&
        pwrite(fd_, tail, tail_length, static_cast<off_t>(size - tail_length)) < 0)
      return;
    path_ = name_;
  }
  ~MemoryFile() {
    if (fd_ >= 0) close(fd_);
    if (!name_.empty()) unlink(name_.c_str());
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }  // empty: not made

 private:
  int fd_ = -1;
  std::string name_;
  std::string path_;
};

}  // namespace lifeboat::fuzz
