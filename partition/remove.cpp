#include "partition/remove.h"

#include <algorithm>
#include <iterator>

#include "partition/layout_check.h"

namespace lifeboat::partition {
namespace {

std::unexpected<Refusal> Refuse(RefusalReason reason, std::string message) {
  return std::unexpected(Refusal{reason, std::move(message)});
}

std::string Who(const DiskModel& d, const Partition& p, const std::string& what) {
  return d.path + " partition " + std::to_string(p.number) + " (" + what + ")";
}

// The partition in front of `it` with only unallocated space between, if its role is `role`.
const Partition* InFront(const DiskModel& d, std::vector<Partition>::const_iterator it, Role role) {
  if (it == d.partitions.begin()) return nullptr;
  const Partition& p = *std::prev(it);
  return p.role == role ? &p : nullptr;
}

}  // namespace

std::optional<Refusal> GrowableRefusal(const DiskModel& d, const Partition& p,
                                       const std::string& what) {
  const std::string who = Who(d, p, what);
  if (d.label == LabelKind::kMbr && p.number > 4)
    return Refusal{RefusalReason::kUnknownPartitionInTheWay,
                   who +
                       " is a logical partition inside an extended one; Lifeboat grows only "
                       "primary partitions"};
  if (p.filesystem == FilesystemKind::kBitLocker)
    return Refusal{RefusalReason::kBitLocker,
                   who +
                       " is encrypted with BitLocker, which Lifeboat cannot grow; give the room "
                       "back with `--reclaim none` and extend the volume in Windows"};
  if (p.filesystem != FilesystemKind::kNtfs)
    return Refusal{RefusalReason::kNotNtfs,
                   who + " holds " + FilesystemName(p.filesystem) + ", not NTFS"};
  if (!p.ntfs)
    return Refusal{RefusalReason::kNtfsNotInspected,
                   who + " was not looked inside (run as root), so it cannot be grown safely"};
  if (p.ntfs->dirty)
    return Refusal{RefusalReason::kNtfsDirty,
                   who + " is marked for chkdsk: boot Windows (or run 'chkdsk /f') first"};
  if (p.ntfs->hibernated)
    return Refusal{RefusalReason::kHibernated, who + " is in use by a hibernated Windows"};
  return std::nullopt;
}

const char* ReclaimName(Reclaim reclaim) {
  switch (reclaim) {
    case Reclaim::kWindows:
      return "windows";
    case Reclaim::kWinRe:
      return "winre";
    case Reclaim::kNone:
      break;
  }
  return "none";
}

std::optional<Reclaim> ParseReclaim(const std::string& name) {
  for (Reclaim r : {Reclaim::kNone, Reclaim::kWindows, Reclaim::kWinRe}) {
    if (name == ReclaimName(r)) return r;
  }
  return std::nullopt;
}

std::expected<Plan, Refusal> MakeRemovePlan(const DiskModel& d, Reclaim reclaim, Bytes alignment) {
  const uint32_t ss = d.sector_size;
  if (ss == 0 || alignment.value == 0 || alignment.value % ss != 0)
    return Refuse(RefusalReason::kInvalidPolicy, "alignment " + std::to_string(alignment.value) +
                                                     " is not a multiple of the sector size " +
                                                     std::to_string(ss));
  const uint64_t grain = alignment.value / ss;
  Plan plan;
  plan.goal = PlanGoal::kRemoveLifeboat;
  plan.disk_path = d.path;
  plan.disk_id = d.disk_id;
  plan.label = d.label;
  plan.sector_size = ss;
  const auto& parts = d.partitions;
  const auto it = std::find_if(parts.begin(), parts.end(),
                               [](const Partition& p) { return p.role == Role::kLifeboat; });
  if (it == parts.end()) return plan;  // nothing to remove
  const Partition& lifeboat = *it;
  plan.recovery_start = lifeboat.start;
  plan.recovery_size = lifeboat.size;
  plan.recovery_uuid = lifeboat.uuid;

  if (auto problems = CheckLayout(d); !problems.empty())
    return Refuse(RefusalReason::kUnsafeTable, DescribeLayoutProblems(d, problems));
  if (d.needs_repair)
    return Refuse(RefusalReason::kGptNeedsRepair,
                  d.path + ": the partition table needs repair (" + d.repair_reason +
                      "); repair it (disk prepare --allow-gpt-repair, or Windows) first");
  // Removing the entry and the partition it names changes the boot path, as installing did.
  if (auto refusal = BitLockerProtectionRefusal(d)) return std::unexpected(*refusal);
  if (d.label == LabelKind::kMbr && lifeboat.number > 4)
    return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                  Who(d, lifeboat, "Lifeboat") +
                      " is a logical partition inside an extended one; Lifeboat never makes one");

  plan.steps.push_back(BackupTableStep{});
  plan.steps.push_back(DeletePartitionStep{lifeboat.number, lifeboat.start, lifeboat.size,
                                           lifeboat.type, lifeboat.uuid});
  const Lba freed_end = lifeboat.End();
  switch (reclaim) {
    case Reclaim::kNone:
      return plan;
    case Reclaim::kWinRe: {
      const Partition* winre = InFront(d, it, Role::kWinRe);
      if (!winre)
        return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                      d.path + ": WinRE is not directly in front of Lifeboat's partition " +
                          std::to_string(lifeboat.number) +
                          ", so it cannot take its room; Lifeboat moves no other partition");
      if (auto refusal = GrowableRefusal(d, *winre, "WinRE")) return std::unexpected(*refusal);
      const Sectors size = freed_end - winre->start;
      plan.steps.push_back(ResizePartitionStep{winre->number, winre->size, size});
      plan.steps.push_back(GrowNtfsStep{winre->number, winre->start, ToBytes(size, ss)});
      return plan;
    }
    case Reclaim::kWindows:
      break;
  }
  // Windows directly in front, or behind a WinRE that is: that WinRE moves up to the room's end.
  const Partition* winre = InFront(d, it, Role::kWinRe);
  const Partition* windows = InFront(d, winre ? std::prev(it) : it, Role::kWindows);
  if (!windows)
    return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                  d.path + ": Windows is not directly in front of Lifeboat's partition " +
                      std::to_string(lifeboat.number) +
                      " (nor behind a WinRE that is), so it cannot take its room; Lifeboat "
                      "moves no other partition");
  if (auto refusal = GrowableRefusal(d, *windows, "Windows")) return std::unexpected(*refusal);
  Lba windows_end = freed_end;
  if (winre) {
    if (d.label == LabelKind::kMbr && winre->number > 4)
      return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                    Who(d, *winre, "WinRE") +
                        " is a logical partition inside an extended one; Lifeboat moves only "
                        "primary partitions");
    const Lba to{AlignDown((freed_end - winre->size).value, grain)};
    if (to > winre->start) {
      plan.steps.push_back(
          MovePartitionStep{winre->number, winre->start, to, winre->size, winre->uuid});
      plan.steps.push_back(RetargetWinReStep{winre->number, windows->number,
                                             ToBytes(winre->start, ss), ToBytes(to, ss)});
      windows_end = to;
    } else {
      windows_end = winre->start;
    }
  }
  const Sectors size = windows_end - windows->start;
  if (size <= windows->size) return plan;  // no room for Windows after all (WinRE filled it)
  plan.steps.push_back(ResizePartitionStep{windows->number, windows->size, size});
  plan.steps.push_back(GrowNtfsStep{windows->number, windows->start, ToBytes(size, ss)});
  return plan;
}

}  // namespace lifeboat::partition
