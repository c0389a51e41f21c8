// Files inside a FAT volume (the EFI system partition) through mtools, without mounting: the
// kernel here cannot mount vfat, and mtools reads a FAT at a byte offset inside a disk or image.
// External tools run through common/process.h. Blocks on the tools.
//
// Crash contract: mcopy rewrites a file in place; a process killed meanwhile may leave it short.
// Callers keep a copy of what they replace (the agent journals the BCD store) and verify after.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace lifeboat::image {

class FatVolume {
 public:
  // `device` is a disk, partition or image file; the FAT starts `offset` bytes into it.
  FatVolume(std::string device, uint64_t offset);

  // Makes a new FAT32 file system of `sectors` 512-byte sectors starting `offset` bytes into
  // `device` (mkfs.vfat), labelled `label` with serial number `serial`. Erases what was there.
  [[nodiscard]] static Result<FatVolume> Format(const std::string& device, uint64_t offset,
                                                uint64_t sectors, const std::string& label,
                                                uint32_t serial);

  // Paths are Windows style from the volume root: "\EFI\Microsoft\Boot\BCD".
  [[nodiscard]] Result<bool> Exists(const std::string& path) const;
  // Names in a folder; kNotFound when there is none.
  [[nodiscard]] Result<std::vector<std::string>> List(const std::string& dir) const;
  [[nodiscard]] Result<std::vector<uint8_t>> ReadFile(const std::string& path) const;
  // Replaces (or creates) the file; its folder must exist.
  [[nodiscard]] Result<void> WriteFile(const std::string& path,
                                       const std::vector<uint8_t>& bytes) const;
  // Copies the local folder's tree into the volume's root (folders made as needed).
  [[nodiscard]] Result<void> CopyTreeIn(const std::string& local_folder) const;
  // Copies a local file to `path`, whose folder must exist; replaces a file there.
  [[nodiscard]] Result<void> CopyIn(const std::string& local_file, const std::string& path) const;
  // Writes `path` (whose folder must exist) from the bytes `feed` gives until it returns 0.
  [[nodiscard]] Result<void> CopyInFrom(const std::function<size_t(char*, size_t)>& feed,
                                        const std::string& path) const;
  // Streams the file's bytes, as read back from the volume, to `chunk`.
  [[nodiscard]] Result<void> ReadFileInto(const std::string& path,
                                          const std::function<void(std::string_view)>& chunk) const;

 private:
  [[nodiscard]] std::string Image() const;
  std::string device_;
  uint64_t offset_;
};

}  // namespace lifeboat::image
