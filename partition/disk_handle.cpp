#include "partition/disk_handle.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "partition/disk_users.h"

namespace lifeboat::partition {
namespace {

std::string Errno() { return std::strerror(errno); }

// Moves `length` bytes at `offset` by calling `once(done)` (one pread or pwrite of what is left
// after `done` bytes) until all have moved: the kernel may move fewer than asked, or be
// interrupted. Nothing moved at all is an error too (reading past the end of the disk).
template <typename Once>
Result<void> Fully(const std::string& path, const char* verb, Bytes offset, size_t length,
                   Once once) {
  size_t done = 0;
  while (done < length) {
    const ssize_t moved = once(done);
    if (moved < 0 && errno == EINTR) continue;
    if (moved <= 0) {
      return Fail(ErrorCode::kIo, path + ": " + verb + " at byte " +
                                      std::to_string(offset.value + done) + ": " +
                                      (moved == 0 ? std::string("beyond the end") : Errno()));
    }
    done += static_cast<size_t>(moved);
  }
  return {};
}

}  // namespace

Result<DiskHandle> DiskHandle::Open(const std::string& path, Mode mode,
                                    std::chrono::seconds lock_wait) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, path + ": " + Errno());
  }
  const bool block = S_ISBLK(st.st_mode);
  if (!block && !S_ISREG(st.st_mode)) {
    return Fail(
        ErrorCode::kInvalidArgument,
        path + ": not a disk (expected a block device such as /dev/sda or a disk image file)");
  }
  int flags = O_CLOEXEC;
  if (mode == Mode::kReadOnly) {
    flags |= O_RDONLY;
  } else {
    flags |= O_RDWR | (block ? O_EXCL : 0);
  }
  const auto deadline = std::chrono::steady_clock::now() + lock_wait;
  int fd = -1;
  while (true) {
    fd = open(path.c_str(), flags);
    if (fd >= 0 && mode == Mode::kExclusive && flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      fd = -1;
      errno = EWOULDBLOCK;
    }
    if (fd >= 0) break;
    const bool busy = errno == EBUSY || errno == EWOULDBLOCK;
    if (busy && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (busy) {
      return Fail(ErrorCode::kBusy, path +
                                        ": disk is in use (a partition is mounted, or another "
                                        "lifeboat-agent or one of its tools is changing it)");
    }
    if (errno == EROFS || errno == EACCES || errno == EPERM) {
      return Fail(ErrorCode::kIo, path + ": cannot open " +
                                      (mode == Mode::kExclusive ? "for writing" : "for reading") +
                                      ": " + Errno());
    }
    return Fail(ErrorCode::kIo, path + ": " + Errno());
  }
  if (mode == Mode::kExclusive) {
    auto use = FindDiskUse(path);
    if (!use || *use) {
      close(fd);
      LIFEBOAT_TRY(use);
      const DiskUse& u = **use;
      return Fail(ErrorCode::kBusy,
                  path + " is in use: " + u.device + " (" + u.how + ") is " +
                      (u.mount_point == "swap" ? "active swap; turn it off (swapoff)"
                                               : "mounted at " + u.mount_point + "; unmount it") +
                      " and try again. Nothing was changed");
    }
    // The lock must outlive us in the tools we start (see the header), so it is inherited.
    fcntl(fd, F_SETFD, 0);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (block && ioctl(fd, BLKGETSIZE64, &size) != 0) {
    std::string why = Errno();
    close(fd);
    return Fail(ErrorCode::kIo, path + ": cannot read the device size: " + why);
  }
  return DiskHandle(fd, path, mode, block, Bytes{size});
}

DiskHandle::DiskHandle(DiskHandle&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      mode_(other.mode_),
      is_block_device_(other.is_block_device_),
      size_(other.size_) {}

DiskHandle& DiskHandle::operator=(DiskHandle&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    mode_ = other.mode_;
    is_block_device_ = other.is_block_device_;
    size_ = other.size_;
  }
  return *this;
}

DiskHandle::~DiskHandle() {
  if (fd_ >= 0) close(fd_);
}

Result<void> DiskHandle::ReadAt(Bytes offset, void* buffer, size_t length) const {
  auto* p = static_cast<char*>(buffer);
  return Fully(path_, "read", offset, length, [&](size_t done) {
    return pread(fd_, p + done, length - done, static_cast<off_t>(offset.value + done));
  });
}

Result<void> DiskHandle::WriteAt(Bytes offset, const void* buffer, size_t length) const {
  const auto* p = static_cast<const char*>(buffer);
  return Fully(path_, "write", offset, length, [&](size_t done) {
    return pwrite(fd_, p + done, length - done, static_cast<off_t>(offset.value + done));
  });
}

Result<void> DiskHandle::Flush() const {
  if (fsync(fd_) != 0) return Fail(ErrorCode::kIo, path_ + ": fsync: " + Errno());
  return {};
}

}  // namespace lifeboat::partition
