// The NTFS tools from ntfs-3g (ntfsresize, ntfsls, mkntfs) run on one partition through a loop
// device. Each call blocks until the tool exits.
#pragma once

#include <functional>
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

// Looks inside an NTFS volume: \Windows present, dirty, hibernated, minimum size, free space.
// Read-only.
[[nodiscard]] Result<NtfsDetails> InspectNtfs(const PartitionLocation& where);

struct ResizeOptions {
  // The volume's check flag was set by an earlier ntfsresize that Lifeboat itself started on a
  // clean volume (the journal says so) and that was cut short: ntfsresize marks the volume for
  // chkdsk before it changes anything. Only then are its checks told to accept the flag (--force);
  // a flag Windows or anyone else set is never overridden.
  bool own_check_flag = false;
  // Called after the checks and the rehearsal, right before the real resize starts.
  std::function<Result<void>()> before_resize;
};

// Shrinks the NTFS volume to `new_size` bytes: checks the minimum again, rehearses with
// --no-action, then resizes. ntfsresize marks the volume for chkdsk afterwards, by design.
// Errors: kRefused when the volume is marked for chkdsk and not by Lifeboat, or can no longer
// shrink that far; kCorrupt when ntfsresize finds the volume inconsistent; kTool otherwise.
[[nodiscard]] Result<void> ShrinkNtfs(const PartitionLocation& where, Bytes new_size,
                                      const ResizeOptions& options = {});

// Grows the NTFS volume to fill its partition (`where`, already made larger): checks the volume
// as for a shrink, rehearses, resizes. No file moves. Errors: those of ShrinkNtfs.
[[nodiscard]] Result<void> GrowNtfs(const PartitionLocation& where,
                                    const ResizeOptions& options = {});

// Formats the partition NTFS with a quick format. The boot sector is given the partition's real
// start sector (mkntfs cannot learn it from a loop device) so that the volume can boot.
[[nodiscard]] Result<void> FormatNtfs(const PartitionLocation& where, Lba start,
                                      const std::string& label);

}  // namespace lifeboat::partition
