// Who else is using a disk's bytes: a filesystem mounted (or swap active) on any device that maps
// them — the disk itself, its partition devices, loop devices whose backing file or device is the
// disk, and the device-mapper devices stacked on any of these. O_EXCL on a block device catches
// only the first two, and an image file has no such protection at all, so a volume mounted
// through a loop device at its offset would otherwise be resized under the filesystem using it.
// Reads /proc/self/mountinfo, /proc/swaps and /sys; changes nothing.
#pragma once

#include <optional>
#include <string>

#include "common/error.h"

namespace lifeboat::partition {

struct DiskUse {
  std::string device;       // "/dev/loop3"
  std::string mount_point;  // "/mnt/windows", or "swap"
  std::string how;          // "loop device over bytes 122683392-3268411391 of disk.img"
};

// The first use found of the disk at `path`, or nothing.
[[nodiscard]] Result<std::optional<DiskUse>> FindDiskUse(const std::string& path);

}  // namespace lifeboat::partition
