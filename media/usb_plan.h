// What writing a USB stick (or a disk image file standing in for one) will do, or why it must not:
// decided from facts about the target and the medium, before anything is written. Pure.
//
// The stick gets an MBR with one active FAT32 partition from 1 MiB to the end (UEFI firmware
// boots \efi\boot\bootx64.efi from it; BIOS firmware runs syslinux's MBR code, which starts the
// partition's syslinux, whose chain.c32 starts \bootmgr).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lifeboat::media {

// What is known about the target before it is touched (usb_target.h finds it out).
struct UsbTarget {
  std::string path;
  bool exists = false;
  bool block_device = false;
  uint64_t size = 0;           // bytes; 0 when the file does not exist yet
  uint32_t sector_size = 512;  // logical
  std::string in_use;          // "mounted at /media/x (/dev/sdb1)"; empty when unused
  bool holds_running_system = false;
  std::vector<std::string> windows;   // partitions holding a Windows installation: "/dev/sdb3"
  std::vector<std::string> contents;  // what is on it now, one line each, for "will be erased"
};

struct UsbRequest {
  uint64_t boot_files = 0;  // bytes of the staged boot tree
  uint64_t wim = 0;         // bytes of boot.wim
  uint64_t new_size = 0;    // for a file that does not exist: its size (0: just large enough)
  bool force = false;       // a target over kLargestUsual, or holding Windows, is still used
};

struct UsbPlan {
  uint64_t disk_size = 0;           // bytes the target has (or is created with)
  bool create_file = false;         // an image file that does not exist yet
  uint64_t partition_start = 0;     // bytes
  uint64_t partition_size = 0;      // bytes
  std::vector<std::string> erases;  // what is on the target now
};

struct UsbRefusal {
  std::string reason;   // a word for scripts: "target-in-use", "system-disk", ...
  std::string message;  // what, where, why, and what to do
};

// Above this a target is unlikely to be a USB stick: 128 GiB.
inline constexpr uint64_t kLargestUsual = 128ULL << 30;
// FAT32 holds no file of 4 GiB or more.
inline constexpr uint64_t kFat32FileLimit = (4ULL << 30) - 1;
// FAT32 needs 65525 clusters; at the smallest cluster mkfs.vfat uses for it, 33 MiB. Round up.
inline constexpr uint64_t kSmallestPartition = 40ULL << 20;
inline constexpr uint64_t kPartitionStart = 1ULL << 20;

[[nodiscard]] std::variant<UsbPlan, UsbRefusal> PlanUsb(const UsbTarget& target,
                                                        const UsbRequest& request);

// The bytes the files need on FAT32, with room for its tables and folders.
[[nodiscard]] uint64_t NeededPartitionSize(const UsbRequest& request);

}  // namespace lifeboat::media
