// The NTFS tools from ntfs-3g (ntfsresize, ntfsls, mkntfs) run on one partition through a loop
// device. Each call blocks until the tool exits.
#pragma once

#include <string>

#include "common/error.h"
#include "common/units.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

// Where a partition is: the disk's path and the partition's byte range.
struct PartitionLocation {
  std::string disk_path;
  Bytes offset;
  Bytes size;
  uint32_t sector_size = 512;
};

// Looks inside an NTFS volume: \Windows present, dirty, hibernated, minimum size. Read-only.
[[nodiscard]] Result<NtfsDetails> InspectNtfs(const PartitionLocation& where);

// Shrinks the NTFS volume to `new_size` bytes: checks the minimum again, rehearses with
// --no-action, then resizes. ntfsresize marks the volume for chkdsk afterwards, by design.
[[nodiscard]] Result<void> ShrinkNtfs(const PartitionLocation& where, Bytes new_size);

// Formats the partition NTFS with a quick format. The boot sector is given the partition's real
// start sector (mkntfs cannot learn it from a loop device) so that the volume can boot.
[[nodiscard]] Result<void> FormatNtfs(const PartitionLocation& where, Lba start,
                                      const std::string& label);

}  // namespace lifeboat::partition
