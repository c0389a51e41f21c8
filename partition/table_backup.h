// The partition table as the journal keeps it before a run changes it (BackupTableStep): the
// raw sectors at the head of the disk (MBR; or protective MBR, GPT header and entries) and, on
// GPT disks, at its tail (the backup entries and header). Read back with libfdisk, and written
// back byte for byte by `disk restore`.
#pragma once

#include <cstdint>
#include <vector>

#include "common/error.h"
#include "partition/disk_handle.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

struct TableBackup {
  std::vector<uint8_t> head;
  std::vector<uint8_t> tail;  // empty on MBR disks
};

// The table the backup holds, as libfdisk reads it from a sparse scratch file of the disk's size
// holding only those sectors. Errors: kCorrupt (no table in it), kIo.
[[nodiscard]] Result<DiskModel> ReadTableBackup(const TableBackup& backup, const DiskModel& disk);

// Whether two tables name the same partitions: number, place, size, type and GUID.
bool SamePartitions(const DiskModel& a, const DiskModel& b);

// Writes the backup's table over the disk's: the table part of sector 0 (the disk signature, the
// four MBR entries and the boot signature, bytes 440-511: the boot code stays), the rest of the
// head, and the tail at the end of the disk; reads them back, then asks the kernel to re-read
// the table of a block device.
[[nodiscard]] Result<void> WriteTableBackup(const DiskHandle& disk, const DiskModel& model,
                                            const TableBackup& backup);

}  // namespace lifeboat::partition
