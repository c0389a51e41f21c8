// An open disk: a block device (/dev/sda, /dev/loop0) or a disk image file. Owns the file
// descriptor. Opened read-only for inspection; opened read-write with an exclusive lock for
// changes (O_EXCL on block devices, flock(2) against other Lifeboat processes, and a look at the
// mount table: a filesystem mounted on any device that maps the disk's bytes, such as a loop
// device over a partition of an image file, makes it busy). The lock descriptor is inherited by the
// tools the executor starts, so a killed agent's ntfsresize keeps the disk locked until it has
// finished.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::partition {

class DiskHandle {
 public:
  enum class Mode { kReadOnly, kExclusive };

  // Blocks up to `lock_wait` for another process's lock on the disk to go away.
  [[nodiscard]] static Result<DiskHandle> Open(
      const std::string& path, Mode mode, std::chrono::seconds lock_wait = std::chrono::seconds(0));
  DiskHandle(DiskHandle&& other) noexcept;
  DiskHandle& operator=(DiskHandle&& other) noexcept;
  DiskHandle(const DiskHandle&) = delete;
  DiskHandle& operator=(const DiskHandle&) = delete;
  ~DiskHandle();

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool is_block_device() const { return is_block_device_; }
  [[nodiscard]] Bytes size() const { return size_; }
  [[nodiscard]] bool writable() const { return mode_ == Mode::kExclusive; }

  [[nodiscard]] Result<void> ReadAt(Bytes offset, void* buffer, size_t length) const;
  [[nodiscard]] Result<void> WriteAt(Bytes offset, const void* buffer, size_t length) const;
  // Makes everything written so far durable (fsync).
  [[nodiscard]] Result<void> Flush() const;

 private:
  DiskHandle(int fd, std::string path, Mode mode, bool is_block_device, Bytes size)
      : fd_(fd),
        path_(std::move(path)),
        mode_(mode),
        is_block_device_(is_block_device),
        size_(size) {}

  int fd_ = -1;
  std::string path_;
  Mode mode_ = Mode::kReadOnly;
  bool is_block_device_ = false;
  Bytes size_;
};

}  // namespace lifeboat::partition
