#include "partition/filesystem_probe.h"

#include <blkid/blkid.h>

#include <cstring>

namespace lifeboat::partition {
namespace {}  // namespace

Result<FilesystemInfo> ProbeFilesystem(const DiskHandle& disk, Bytes offset, Bytes size) {
  FilesystemInfo info;
  // BitLocker first, by its signature: a volume encrypted by BitLocker must never be shrunk
  // as if it were NTFS, whatever else a prober might make of it.
  unsigned char boot[16] = {};
  LIFEBOAT_TRY(disk.ReadAt(offset, boot, sizeof boot));
  if (std::memcmp(boot + 3, "-FVE-FS-", 8) == 0) {
    info.kind = FilesystemKind::kBitLocker;
    return info;
  }
  blkid_probe pr = blkid_new_probe();
  if (!pr) return Fail(ErrorCode::kIo, "libblkid: out of memory");
  if (blkid_probe_set_device(pr, disk.fd(), static_cast<blkid_loff_t>(offset.value),
                             static_cast<blkid_loff_t>(size.value)) != 0) {
    blkid_free_probe(pr);
    return Fail(ErrorCode::kIo,
                disk.path() + ": libblkid cannot probe at byte " + std::to_string(offset.value));
  }
  blkid_probe_enable_superblocks(pr, 1);
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
  blkid_probe_enable_partitions(pr, 0);
  const int rc = blkid_do_safeprobe(pr);
  if (rc == 0) {
    const char* type = nullptr;
    const char* label = nullptr;
    blkid_probe_lookup_value(pr, "TYPE", &type, nullptr);
    if (blkid_probe_lookup_value(pr, "LABEL", &label, nullptr) == 0 && label) info.label = label;
    std::string t = type ? type : "";
    if (t == "ntfs")
      info.kind = FilesystemKind::kNtfs;
    else if (t == "vfat")
      info.kind = FilesystemKind::kFat;
    else if (t == "BitLocker")
      info.kind = FilesystemKind::kBitLocker;
    else
      info.kind = FilesystemKind::kOther;
  } else if (rc == -2) {
    info.kind = FilesystemKind::kOther;  // several signatures: ambiguous, so not ours to touch
  }
  blkid_free_probe(pr);
  return info;
}

Result<std::optional<Bytes>> ReadNtfsVolumeSize(const DiskHandle& disk, Bytes offset) {
  unsigned char boot[512];
  LIFEBOAT_TRY(disk.ReadAt(offset, boot, sizeof boot));
  if (std::memcmp(boot + 3, "NTFS    ", 8) != 0) return std::optional<Bytes>{};
  const uint64_t bytes_per_sector = LittleEndian(boot + 0x0B, 2);
  const uint64_t total_sectors = LittleEndian(boot + 0x28, 8);
  // NTFS keeps a backup boot sector after the last counted sector, hence the + 1.
  return std::optional<Bytes>{Bytes{(total_sectors + 1) * bytes_per_sector}};
}

}  // namespace lifeboat::partition
