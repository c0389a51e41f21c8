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
  // `device` (mkfs.vfat), labelled `label` with serial number `serial`, its clusters
  // ClusterSectors(sectors) long. Erases what was there.
  [[nodiscard]] static Result<FatVolume> Format(const std::string& device, uint64_t offset,
                                                uint64_t sectors, const std::string& label,
                                                uint32_t serial);

  // The cluster size for a FAT32 volume of `sectors` 512-byte sectors, in sectors: the largest
  // power of two up to 64 (32 KiB) that leaves the at least 65,525 clusters FAT32 needs (with room
  // for the tables). mkfs.vfat's own choice is Microsoft's table, 512-byte clusters up to 260 MB
  // and 4 KiB up to 8 GB: many small clusters make every read and write through mtools walk a
  // longer chain, and flash sticks write 32 KiB clusters faster.
  [[nodiscard]] static uint32_t ClusterSectors(uint64_t sectors);

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
