// The disk as Lifeboat sees it: a plain value, filled by DiskReader from libfdisk and libblkid,
// and consumed by the pure planner. Positions are in logical sectors of `sector_size` bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/units.h"
#include "partition/bitlocker_metadata.h"

namespace lifeboat::partition {

enum class LabelKind { kNone, kGpt, kMbr };

enum class FilesystemKind { kNone, kNtfs, kFat, kBitLocker, kOther };

// What a partition is for, as far as Lifeboat can tell.
enum class Role {
  kEsp,             // EFI system partition (holds \EFI\Microsoft\Boot\BCD on UEFI machines)
  kMsr,             // Microsoft reserved partition
  kSystemReserved,  // MBR: active NTFS partition holding \Boot\BCD, not Windows itself
  kWindows,         // the NTFS (or BitLocker) volume holding \Windows
  kWinRe,           // Windows' own recovery partition (WinRE)
  kLifeboat,        // Lifeboat's recovery partition
  kData,            // another basic-data volume (a D: drive)
  kUnknown,         // OEM, Linux, extended or anything else Lifeboat will not touch
};

const char* RoleName(Role role);
const char* FilesystemName(FilesystemKind kind);
const char* LabelName(LabelKind kind);

// What the NTFS tools found inside an NTFS volume. Absent when it could not be looked at (not
// root).
struct NtfsDetails {
  bool has_windows_dir = false;      // \Windows exists
  bool dirty = false;                // marked for chkdsk ("scheduled for check")
  bool hibernated = false;           // hibernated or Windows Fast Startup left it in use
  std::optional<Bytes> volume_size;  // the filesystem's own size (may be < the partition)
  std::optional<Bytes> min_size;     // smallest size ntfsresize could shrink it to
  std::optional<Bytes> free_bytes;   // its free clusters' bytes (ntfsinfo), what Windows reports
  std::string problem;               // why min_size is absent, in the tool's words
};

struct Partition {
  uint32_t number = 0;  // 1-based, as /dev/sdaN and sfdisk number them
  Lba start;
  Sectors size;
  std::string type;         // GPT: upper-case type GUID; MBR: "0x07"
  uint64_t attributes = 0;  // GPT attribute bits
  std::string name;         // GPT partition name
  std::string uuid;         // GPT partition GUID (upper case); MBR: "<signature>-<number>"
  bool bootable = false;    // MBR active flag
  bool container = false;   // MBR extended partition: holds the logical ones (5, 6, ...)
  FilesystemKind filesystem = FilesystemKind::kNone;
  std::string fs_label;
  std::optional<NtfsDetails> ntfs;
  std::optional<BitLockerInfo> bitlocker;  // BitLocker volumes: their protectors, as read
  Role role = Role::kUnknown;

  [[nodiscard]] Lba End() const { return start + size; }  // first sector after the partition
};

// One of the four entries of sector 0, read raw. On a GPT disk only the protective 0xEE entry
// belongs there; others make a "hybrid MBR" that BIOS-booting tools read instead of the GPT.
struct MbrEntry {
  uint32_t slot = 0;  // 1-4
  uint8_t type = 0;
  Lba start;
  Sectors size;
};

struct FreeRegion {
  Lba start;
  Sectors size;
};

struct DiskModel {
  std::string path;
  LabelKind label = LabelKind::kNone;
  std::string disk_id;         // GPT disk GUID (upper case) or MBR signature "0x1234abcd"
  uint32_t sector_size = 512;  // logical
  uint32_t physical_sector_size = 512;
  Sectors total;     // whole disk, in logical sectors
  Lba first_usable;  // GPT: after the entry array; MBR: 1
  Lba last_usable;   // inclusive
  bool is_block_device = false;
  bool needs_repair = false;  // libfdisk loaded a backup GPT or fixed the header on open
  std::string repair_reason;
  uint32_t max_primary = 4;           // MBR primary slots; GPT: entries in the array
  std::vector<Partition> partitions;  // sorted by start
  std::vector<FreeRegion> free;
  std::vector<std::string> notes;  // what inspection could not see, and why
  // GPT disks: the used entries of sector 0, including the protective one.
  std::vector<MbrEntry> mbr_entries;
  // Set when the table read is not the disk's real one: an MBR whose only use is to protect a
  // GPT that could not be read (cut off, or written for another sector size). Says why.
  std::string unreadable_gpt;

  [[nodiscard]] const Partition* WithRole(Role role) const;
  [[nodiscard]] Bytes Size() const { return ToBytes(total, sector_size); }
};

// Well-known partition types.
namespace types {
inline constexpr const char* kGptEsp = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
inline constexpr const char* kGptMsr = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE";
inline constexpr const char* kGptBasicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
inline constexpr const char* kGptRecovery = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC";
inline constexpr uint64_t kRecoveryAttributes =
    0x8000000000000001ULL;  // required + no drive letter
inline constexpr const char* kMbrNtfs = "0x07";
inline constexpr const char* kMbrRecovery = "0x27";
inline constexpr const char* kMbrEsp = "0xef";
}  // namespace types

// The name and NTFS label that mark a partition as Lifeboat's own.
inline constexpr const char* kLifeboatName = "Lifeboat";

// Decides each partition's role from its type, name, filesystem and NTFS details. Pure.
void ClassifyPartitions(DiskModel& disk);

}  // namespace lifeboat::partition
