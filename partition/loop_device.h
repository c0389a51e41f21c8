// A loop device over a byte range of a disk (losetup --offset --sizelimit), so that the NTFS tools,
// which only take a device path, can work on one partition of a disk image or of /dev/sdX alike.
// Detached when destroyed. Needs root.
#pragma once

#include <string>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::partition {

class LoopDevice {
 public:
  [[nodiscard]] static Result<LoopDevice> Attach(const std::string& backing, Bytes offset,
                                                 Bytes size, uint32_t sector_size, bool read_only);
  LoopDevice(LoopDevice&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  LoopDevice& operator=(LoopDevice&&) = delete;
  LoopDevice(const LoopDevice&) = delete;
  ~LoopDevice();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit LoopDevice(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace lifeboat::partition
