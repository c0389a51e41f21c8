// Files inside a FAT volume (the EFI system partition) through mtools, without mounting: the
// kernel here cannot mount vfat, and mtools reads a FAT at a byte offset inside a disk or image.
// External tools run through common/process.h. Blocks on the tools.
//
// Crash contract: mcopy rewrites a file in place; a process killed meanwhile may leave it short.
// Callers keep a copy of what they replace (the agent journals the BCD store) and verify after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::image {

class FatVolume {
 public:
  // `device` is a disk, partition or image file; the FAT starts `offset` bytes into it.
  FatVolume(std::string device, uint64_t offset);

  // Paths are Windows style from the volume root: "\EFI\Microsoft\Boot\BCD".
  [[nodiscard]] Result<bool> Exists(const std::string& path) const;
  // Names in a folder; kNotFound when there is none.
  [[nodiscard]] Result<std::vector<std::string>> List(const std::string& dir) const;
  [[nodiscard]] Result<std::vector<uint8_t>> ReadFile(const std::string& path) const;
  // Replaces (or creates) the file; its folder must exist.
  [[nodiscard]] Result<void> WriteFile(const std::string& path,
                                       const std::vector<uint8_t>& bytes) const;

 private:
  [[nodiscard]] std::string Image() const;
  std::string device_;
  uint64_t offset_;
};

}  // namespace lifeboat::image
