// A loop device over a byte range of a disk, so that the NTFS tools, which only take a device
// path, can work on one partition of a disk image or of /dev/sdX alike. Needs root.
//
// Crash contract: the device is configured with the kernel's autoclear flag and this object holds
// it open, so the kernel detaches it when the last user closes it — when this object goes, or
// when the process dies (kill -9 included) and any tool that still has it open has exited. A
// killed agent leaves no loop devices behind.
#pragma once

#include <string>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::partition {

class LoopDevice {
 public:
  [[nodiscard]] static Result<LoopDevice> Attach(const std::string& backing, Bytes offset,
                                                 Bytes size, uint32_t sector_size, bool read_only);
  LoopDevice(LoopDevice&& other) noexcept
      : path_(std::exchange(other.path_, {})), fd_(std::exchange(other.fd_, -1)) {}
  LoopDevice& operator=(LoopDevice&&) = delete;
  LoopDevice(const LoopDevice&) = delete;
  ~LoopDevice();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  LoopDevice(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;  // holds the device: with autoclear, its last close detaches it
};

}  // namespace lifeboat::partition
