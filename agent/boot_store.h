// Where a Windows disk keeps its BCD store, and reading and writing it there without mounting:
// UEFI, \EFI\Microsoft\Boot\BCD on the EFI system partition (FAT, through mtools); BIOS,
// \Boot\BCD on the active partition (NTFS, through libntfs-3g on a loop device, so root).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bcd/device.h"
#include "common/error.h"
#include "image/wim_file.h"
#include "partition/disk_model.h"

namespace lifeboat::agent {

struct BootStoreLocation {
  image::Firmware firmware = image::Firmware::kUefi;
  uint32_t partition_number = 0;
  Bytes offset;  // of the partition holding the store
  Bytes size;
  bool fat = true;   // FAT (ESP) or NTFS (System Reserved)
  std::string path;  // inside that partition
  uint32_t sector_size = 512;

  // "\EFI\Microsoft\Boot\BCD on partition 1 (EFI system partition)"
  [[nodiscard]] std::string Describe() const;
};

// Errors: kUnsupported (no ESP on a GPT disk, no active partition on an MBR disk).
[[nodiscard]] Result<BootStoreLocation> LocateBootStore(const partition::DiskModel& disk);

// How the boot manager names a partition of this disk (GPT GUIDs or MBR offset and signature).
[[nodiscard]] Result<bcd::PartitionRef> PartitionRefFor(const partition::DiskModel& disk,
                                                        const partition::Partition& partition);

// A BCD store's bytes and its transaction logs wherever they are kept: BootStoreFile on a disk;
// in memory for tests of what apply does with them.
class BootStoreIo {
 public:
  virtual ~BootStoreIo() = default;
  // Errors: kNotFound when the store is missing.
  [[nodiscard]] virtual Result<std::vector<uint8_t>> Read() const = 0;
  [[nodiscard]] virtual Result<void> Write(const std::vector<uint8_t>& bytes) const = 0;
  // The transaction logs beside the store that exist: (name, bytes).
  [[nodiscard]] virtual Result<std::vector<std::pair<std::string, std::vector<uint8_t>>>> Logs()
      const = 0;
  // Where the store is, for messages.
  [[nodiscard]] virtual std::string Describe() const = 0;
};

class BootStoreFile : public BootStoreIo {
 public:
  BootStoreFile(std::string disk_path, BootStoreLocation location);
  [[nodiscard]] Result<std::vector<uint8_t>> Read() const override;
  [[nodiscard]] Result<void> Write(const std::vector<uint8_t>& bytes) const override;
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::vector<uint8_t>>>> Logs()
      const override;
  [[nodiscard]] std::string Describe() const override { return location_.Describe(); }
  [[nodiscard]] const BootStoreLocation& location() const { return location_; }

 private:
  std::string disk_path_;
  BootStoreLocation location_;
};

}  // namespace lifeboat::agent
