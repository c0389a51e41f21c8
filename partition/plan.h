// A plan is data: the typed steps that turn a disk into one with a Lifeboat recovery partition.
// It is printed by `disk plan`, stored in the journal before the first change, and replayed
// from the journal after a crash. Positions are in the disk's logical sectors.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/units.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

// Save both GPT copies (or the MBR) before anything changes.
struct BackupTableStep {};

// Shrink the NTFS filesystem of a partition; the partition itself is resized by the next step.
struct ShrinkNtfsStep {
  uint32_t number = 0;
  Lba start;
  Bytes new_size;
};

// Change a partition's size in the table, keeping its start.
struct ResizePartitionStep {
  uint32_t number = 0;
  Sectors old_size;
  Sectors new_size;
};

// Move a partition's bytes down or up the disk, then its table entry; its GUID stays the same.
struct MovePartitionStep {
  uint32_t number = 0;
  Lba from;
  Lba to;
  Sectors size;
  std::string uuid;  // must be unchanged afterwards
};

// Create Lifeboat's partition.
struct CreatePartitionStep {
  Lba start;
  Sectors size;
  std::string type;
  std::string name;
  uint64_t attributes = 0;
  // GPT: the partition's GUID, chosen by the planner (LifeboatPartitionGuid) so that what points
  // at the partition (apply's boot entry) is known before it exists. Empty: libfdisk picks one
  // (MBR, and plans journalled before this field existed).
  std::string uuid;
};

// Grow the NTFS filesystem of a partition to fill it (the partition was made larger first).
struct GrowNtfsStep {
  uint32_t number = 0;
  Lba start;
  Bytes new_size;  // the partition's size: the volume fills it but for NTFS's backup boot sector
  // The volume's check flag may be the one ntfsresize set when the run being undone shrank it
  // (disk restore right after a prepare): accepted, as a resumed shrink accepts its own.
  bool own_check_flag = false;
};

// Make what names a moved WinRE by its place follow it: Windows' recovery entries in the BCD store
// (MBR stores name partitions by byte offset) and Windows' ReAgent.xml (its WinreLocation
// offset). The agent carries it out (ExecuteOptions::retarget_winre): it knows the BCD and
// Windows' files; the disk engine does not.
struct RetargetWinReStep {
  uint32_t winre = 0;    // WinRE's partition number
  uint32_t windows = 0;  // the Windows partition, whose \Windows\System32\Recovery\ReAgent.xml
  Bytes from_offset;
  Bytes to_offset;
};

// Delete Lifeboat's partition from the table (`remove`). Its bytes are left as they are; only
// the partition that matches all of number, place, type and GUID is ever deleted.
struct DeletePartitionStep {
  uint32_t number = 0;
  Lba start;
  Sectors size;
  std::string type;
  std::string uuid;
};

// Write back the partition table journal run `run` saved before it changed anything (its
// BackupTableStep), byte for byte, once the disk's partitions are where that table has them
// (`disk restore`). The agent reads the backup (ExecuteOptions::table_backup).
struct RestoreTableStep {
  int64_t run = 0;
};

// Quick-format the new partition NTFS.
struct FormatNtfsStep {
  Lba start;
  Sectors size;
  std::string label;
};

using Step = std::variant<BackupTableStep, ShrinkNtfsStep, ResizePartitionStep, MovePartitionStep,
                          CreatePartitionStep, FormatNtfsStep, GrowNtfsStep, RetargetWinReStep,
                          DeletePartitionStep, RestoreTableStep>;

// What a plan is for.
enum class PlanGoal {
  kLifeboatPartition,  // disk prepare: Lifeboat's recovery partition
  kGrowWinRe,          // winre grow: Windows' own recovery partition, larger (partition/winre.h)
  kRemoveLifeboat,     // remove: Lifeboat's partition deleted, its room given back (remove.h)
  kRestoreTable,       // disk restore: a prepare undone, its saved table back (restore.h)
};
const char* PlanGoalName(PlanGoal goal);

const char* StepKind(const Step& step);
// One line a person reads: "shrink the NTFS volume of partition 3 to 2.00 GiB".
std::string DescribeStep(const Step& step, uint32_t sector_size);

struct Plan {
  PlanGoal goal = PlanGoal::kLifeboatPartition;
  std::string disk_path;
  std::string disk_id;
  LabelKind label = LabelKind::kNone;
  uint32_t sector_size = 512;
  Bytes requested_size;
  // Where the plan's recovery partition (Lifeboat's, or WinRE for kGrowWinRe) is or will be;
  // kRemoveLifeboat: where Lifeboat's partition was.
  Lba recovery_start;
  Sectors recovery_size;
  std::string recovery_uuid;  // kGrowWinRe: WinRE's GPT GUID (MBR: "<signature>-<number>")
  std::vector<Step> steps;    // empty: nothing to do
  // Consequences outside the partition table, e.g. MBR boot entries naming a moved partition
  // by byte offset, which the BCD editor must update.
  std::vector<std::string> notes;

  [[nodiscard]] bool NothingToDo() const { return steps.empty(); }
};

}  // namespace lifeboat::partition
