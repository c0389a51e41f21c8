// Inspection: turns an open disk into a DiskModel. Reads the table with libfdisk, the filesystems
// with libblkid and, as root, looks inside NTFS volumes with the ntfs-3g tools. Changes nothing.
#pragma once

#include "common/error.h"
#include "partition/disk_handle.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

struct ReadOptions {
  bool look_inside_ntfs = true;  // needs root; without it NTFS details are absent (noted)
};

[[nodiscard]] Result<DiskModel> ReadDisk(const DiskHandle& disk, const ReadOptions& options = {});

}  // namespace lifeboat::partition
