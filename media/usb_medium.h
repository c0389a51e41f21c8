// Writes a bootable USB stick (or a disk image file standing in for one) from a medium source,
// as media/usb_plan.h planned it: a fresh MBR with one active FAT32 partition, syslinux's MBR code
// and boot sector for BIOS (chain.c32 starts \bootmgr), the Windows media layout in the FAT
// written with mtools (never mounted), then everything flushed and read back from the target and
// compared. Blocks on the tools and the device.
//
// Crash contract: not resumable, and needs not be: the stick is erased from the start, so an
// interrupted write leaves a stick that boots nothing, which the next run writes again whole.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "media/medium_source.h"
#include "media/usb_plan.h"

namespace lifeboat::media {

struct UsbWriteRequest {
  std::string target;
  std::string label = "LIFEBOAT";  // the FAT volume label
  std::function<void(const std::string&)> say;
  std::function<void(uint64_t done, uint64_t total)> progress;  // boot.wim's bytes copied
};

struct UsbResult {
  std::vector<std::string> files;  // Windows-style paths on the stick
  std::string wim_sha256;          // of the image, as it was read to be copied
  bool verified = false;
};

// Where Debian's syslinux packages put what BIOS boot needs.
namespace syslinux {
inline constexpr const char* kMbr = "/usr/lib/syslinux/mbr/mbr.bin";
inline constexpr const char* kModules = "/usr/lib/syslinux/modules/bios";
}  // namespace syslinux

// Errors: kIo (the device), kTool (mkfs.vfat, mtools, syslinux), kCorrupt (what was read back
// differs from what was written).
[[nodiscard]] Result<UsbResult> WriteUsb(const MediumSource& source, const UsbPlan& plan,
                                         const UsbWriteRequest& request);

}  // namespace lifeboat::media
