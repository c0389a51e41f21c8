// Finds what filesystem a partition holds (libblkid, on the disk's own descriptor at the
// partition's offset, so it works the same on image files and block devices) and reads the few
// NTFS boot-sector fields Lifeboat relies on. Read-only.
#pragma once

#include <optional>
#include <string>

#include "common/error.h"
#include "partition/disk_handle.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

struct FilesystemInfo {
  FilesystemKind kind = FilesystemKind::kNone;
  std::string label;
};

[[nodiscard]] Result<FilesystemInfo> ProbeFilesystem(const DiskHandle& disk, Bytes offset,
                                                     Bytes size);

// The NTFS volume size recorded in its boot sector (total sectors x bytes per sector); nullopt
// when the partition does not start with an NTFS boot sector.
[[nodiscard]] Result<std::optional<Bytes>> ReadNtfsVolumeSize(const DiskHandle& disk, Bytes offset);

}  // namespace lifeboat::partition
