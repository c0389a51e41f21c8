#include "partition/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lifeboat::partition {
namespace {

std::string Errno() { return std::strerror(errno); }

// Closes a descriptor when it goes out of scope, unless released.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int Release() { return std::exchange(fd, -1); }
};

}  // namespace

Result<LoopDevice> LoopDevice::Attach(const std::string& backing, Bytes offset, Bytes size,
                                      uint32_t sector_size, bool read_only) {
  if (geteuid() != 0) {
    return Fail(ErrorCode::kUnsupported, "looking inside NTFS volumes needs root (loop devices)");
  }
  const std::string what = "attach a loop device to " + backing;
  Fd file{open(backing.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC)};
  if (file.fd < 0) return Fail(ErrorCode::kIo, what + ": " + Errno());
  Fd control{open("/dev/loop-control", O_RDWR | O_CLOEXEC)};
  if (control.fd < 0) return Fail(ErrorCode::kTool, what + ": /dev/loop-control: " + Errno());

  loop_config config{};
  config.fd = static_cast<uint32_t>(file.fd);
  config.block_size = sector_size;
  config.info.lo_offset = offset.value;
  config.info.lo_sizelimit = size.value;
  config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0);
  // Another process may take the free device between asking for it and configuring it.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int number = ioctl(control.fd, LOOP_CTL_GET_FREE);
    if (number < 0) return Fail(ErrorCode::kTool, what + ": no free loop device: " + Errno());
    const std::string path = "/dev/loop" + std::to_string(number);
    Fd device{open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC)};
    if (device.fd < 0) return Fail(ErrorCode::kTool, what + ": " + path + ": " + Errno());
    if (ioctl(device.fd, LOOP_CONFIGURE, &config) == 0) return LoopDevice(path, device.Release());
    if (errno != EBUSY) return Fail(ErrorCode::kTool, what + ": " + path + ": " + Errno());
  }
  return Fail(ErrorCode::kBusy, what + ": every free loop device was taken by someone else");
}

LoopDevice::~LoopDevice() {
  // Autoclear: the kernel detaches the device at this last close (or when the last tool that
  // opened it exits).
  if (fd_ >= 0) close(fd_);
}

}  // namespace lifeboat::partition
