// Device elements (11000001 device, 21000001 osdevice, 31000003 ramdisksdidevice): the binary
// layout is in ../shared/BCD-FORMAT.md section 3. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bcd/guid.h"
#include "common/error.h"

namespace lifeboat::bcd {

// A partition as the boot manager finds it: by GPT partition and disk GUIDs, or by MBR byte
// offset and disk signature.
struct PartitionRef {
  bool gpt = true;
  Guid partition;          // GPT
  Guid disk;               // GPT
  uint64_t offset = 0;     // MBR: start in bytes (start sector x logical sector size)
  uint32_t signature = 0;  // MBR
  bool operator==(const PartitionRef&) const = default;
};

struct Device {
  enum class Kind { kPartition, kBoot, kRamdisk, kOther };
  Kind kind = Kind::kOther;
  std::optional<PartitionRef> partition;  // kPartition, or a RAM disk's parent partition
  bool parent_is_boot = false;            // kRamdisk whose image is on the boot device
  Guid options;                           // kRamdisk: its device-options object
  std::string path;                       // kRamdisk: the WIM's path on the parent
  uint32_t device_type = 0;               // kOther: the descriptor's type, for display
  uint32_t block_io_type = 0;             // kOther with device type 0 (file, VHD)
};

// Errors: kCorrupt when the element is too short for what its header says.
[[nodiscard]] Result<Device> DecodeDevice(const std::vector<uint8_t>& data);

std::vector<uint8_t> EncodePartitionDevice(const PartitionRef& partition);
// ramdisk=[partition]\path,{options}, as bcdedit and reagentc write it.
std::vector<uint8_t> EncodeRamdiskDevice(const PartitionRef& parent, const std::string& path,
                                         const Guid& options);

// "boot": the device the boot manager was loaded from (BCD-FORMAT.md 3.4), as media stores name
// their own CD, DVD or USB stick.
std::vector<uint8_t> EncodeBootDevice();
// ramdisk=[boot]\path,{options}: a WIM on the boot device itself (install and recovery media).
std::vector<uint8_t> EncodeRamdiskOnBootDevice(const std::string& path, const Guid& options);

// bcdedit-like text: "partition=[gpt disk {..} partition {..}]", "boot",
// "ramdisk=[mbr disk 0x36234da4 offset 1048576]\boot\boot.wim,{ramdiskoptions}".
std::string FormatDevice(const Device& device);
std::string FormatPartition(const PartitionRef& partition);

// If the element holds an MBR partition (or a RAM disk on one) at `from`, returns a copy that
// points at `to_offset` instead, every other byte unchanged; otherwise nothing.
std::optional<std::vector<uint8_t>> RetargetMbrPartition(const std::vector<uint8_t>& data,
                                                         const PartitionRef& from,
                                                         uint64_t to_offset);

}  // namespace lifeboat::bcd
