#include "partition/winre.h"

#include <algorithm>
#include <vector>

#include "partition/layout_check.h"

namespace lifeboat::partition {
namespace {

std::unexpected<Refusal> Refuse(RefusalReason reason, std::string message) {
  return std::unexpected(Refusal{reason, std::move(message)});
}

// The checks every plan shares with disk prepare's: sizes, the table, BitLocker. Pure.
std::optional<Refusal> CheckDisk(const DiskModel& d, const WinReGrowPolicy& policy) {
  const uint32_t ss = d.sector_size;
  if (policy.free.has_value() == policy.size.has_value())
    return Refusal{RefusalReason::kInvalidPolicy,
                   "winre grow: give either the free space WinRE should have (--free) or its "
                   "size (--size)"};
  if (ss == 0 || policy.alignment.value == 0 || policy.alignment.value % ss != 0)
    return Refusal{RefusalReason::kInvalidPolicy,
                   "alignment " + std::to_string(policy.alignment.value) +
                       " is not a multiple of the sector size " + std::to_string(ss)};
  const Bytes disk_size = d.Size();
  const Bytes asked = policy.free ? *policy.free : *policy.size;
  if (asked >= disk_size)
    return Refusal{RefusalReason::kNotEnoughSpace, d.path + ": " + HumanSize(asked) +
                                                       " for WinRE does not fit on a disk of " +
                                                       HumanSize(disk_size)};
  if (policy.shrink_margin && *policy.shrink_margin >= disk_size)
    return Refusal{RefusalReason::kInvalidPolicy,
                   d.path + ": a shrink margin of " + HumanSize(*policy.shrink_margin) +
                       " is more than the whole disk (" + HumanSize(disk_size) + ")"};
  if (auto problems = CheckLayout(d); !problems.empty())
    return Refusal{RefusalReason::kUnsafeTable, DescribeLayoutProblems(d, problems)};
  if (d.label == LabelKind::kNone)
    return Refusal{RefusalReason::kNoPartitionTable,
                   d.path + ": no partition table (neither GPT nor MBR), so no WinRE partition"};
  if (d.needs_repair)
    return Refusal{RefusalReason::kGptNeedsRepair,
                   d.path + ": the partition table needs repair (" + d.repair_reason +
                       "); repair it (disk prepare --allow-gpt-repair, or Windows) first"};
  return BitLockerProtectionRefusal(d);
}

// WinRE's volume, when it can be measured and grown: primary, NTFS, looked inside.
std::optional<Refusal> CheckWinReVolume(const DiskModel& d, const Partition& winre) {
  const std::string who = d.path + " partition " + std::to_string(winre.number) + " (WinRE)";
  if (d.label == LabelKind::kMbr && winre.number > 4)
    return Refusal{RefusalReason::kUnknownPartitionInTheWay,
                   who +
                       " is a logical partition inside an extended one; Lifeboat moves and "
                       "grows only primary partitions"};
  if (winre.filesystem != FilesystemKind::kNtfs)
    return Refusal{RefusalReason::kNotNtfs,
                   who + " holds " + FilesystemName(winre.filesystem) + ", not NTFS"};
  if (!winre.ntfs)
    return Refusal{RefusalReason::kNtfsNotInspected,
                   who + " was not looked inside (run as root), so its free space is unknown"};
  return std::nullopt;
}

// WinRE's volume, when it is to be changed: clean. (ntfsresize marks a volume it resized for
// chkdsk, by design: a WinRE grown a moment ago is large enough and needs no change.)
std::optional<Refusal> CheckWinReClean(const DiskModel& d, const Partition& winre) {
  const std::string who = d.path + " partition " + std::to_string(winre.number) + " (WinRE)";
  if (winre.ntfs->dirty)
    return Refusal{RefusalReason::kNtfsDirty,
                   who + " is marked for chkdsk: boot Windows (or run 'chkdsk /f') first"};
  if (winre.ntfs->hibernated)
    return Refusal{RefusalReason::kHibernated, who + " is in use by a hibernated Windows"};
  return std::nullopt;
}

// The first partition with WinRE's role, if any.
std::vector<Partition>::const_iterator FindWinRe(const DiskModel& d) {
  return std::find_if(d.partitions.begin(), d.partitions.end(),
                      [](const Partition& p) { return p.role == Role::kWinRe; });
}

// The unallocated sectors directly behind `it` (up to the next partition or the usable end).
Sectors RoomBehind(const DiskModel& d, std::vector<Partition>::const_iterator it, uint64_t grain) {
  const auto next = it + 1;
  const uint64_t end =
      next != d.partitions.end() ? next->start.value : AlignDown(d.last_usable.value + 1, grain);
  return Sectors{end > it->End().value ? end - it->End().value : 0};
}

}  // namespace

WinReSummary SummarizeWinRe(const DiskModel& d) {
  WinReSummary summary;
  const auto it = FindWinRe(d);
  if (it == d.partitions.end()) return summary;
  summary.winre = &*it;
  summary.follows_windows = it != d.partitions.begin() && std::prev(it)->role == Role::kWindows;
  summary.room_behind = RoomBehind(d, it, std::max<uint64_t>(1, kMiB.value / d.sector_size));
  if (it->ntfs && it->ntfs->free_bytes) {
    summary.free = *it->ntfs->free_bytes;
    summary.missing =
        *summary.free >= kWinReUpdateFree ? Bytes{0} : kWinReUpdateFree - *summary.free;
  }
  return summary;
}

std::expected<Plan, Refusal> MakeWinReGrowPlan(const DiskModel& d, const WinReGrowPolicy& policy) {
  if (auto refusal = CheckDisk(d, policy)) return std::unexpected(*refusal);
  const uint32_t ss = d.sector_size;
  const uint64_t grain = policy.alignment.value / ss;
  const auto& parts = d.partitions;
  const auto winre_it = FindWinRe(d);
  if (winre_it == parts.end())
    return Refuse(RefusalReason::kNoWinRe,
                  d.path + ": no WinRE partition (GPT type " + types::kGptRecovery +
                      " or MBR type 0x27 holding Windows' recovery environment); nothing to grow");
  const Partition& winre = *winre_it;
  if (auto refusal = CheckWinReVolume(d, winre)) return std::unexpected(*refusal);

  Plan plan;
  plan.goal = PlanGoal::kGrowWinRe;
  plan.disk_path = d.path;
  plan.disk_id = d.disk_id;
  plan.label = d.label;
  plan.sector_size = ss;
  plan.recovery_start = winre.start;
  plan.recovery_size = winre.size;
  plan.recovery_uuid = winre.uuid;

  // How large WinRE must be. Growing a volume by N bytes frees N bytes but for its bitmap's
  // growth (a bit a cluster); one alignment grain more covers that and the rounding.
  Sectors want = winre.size;
  if (policy.size) {
    want = Sectors{AlignUp(ToSectorsCeil(*policy.size, ss).count, grain)};
  } else {
    if (!winre.ntfs->free_bytes)
      return Refuse(RefusalReason::kNtfsNotInspected,
                    d.path + " partition " + std::to_string(winre.number) +
                        " (WinRE): ntfsinfo could not tell its free space");
    const Bytes free = *winre.ntfs->free_bytes;
    if (free < *policy.free)
      want = winre.size +
             Sectors{AlignUp(ToSectorsCeil(*policy.free - free, ss).count, grain) + grain};
  }
  plan.requested_size = ToBytes(want, ss);
  if (want <= winre.size) return plan;  // large enough already
  if (auto refusal = CheckWinReClean(d, winre)) return std::unexpected(*refusal);

  // Room right behind WinRE: grow in place.
  const Sectors grow = want - winre.size;
  plan.steps.push_back(BackupTableStep{});
  if (RoomBehind(d, winre_it, grain) >= grow) {
    plan.recovery_size = want;
    plan.steps.push_back(ResizePartitionStep{winre.number, winre.size, want});
    plan.steps.push_back(GrowNtfsStep{winre.number, winre.start, ToBytes(want, ss)});
    return plan;
  }

  // Else from Windows, directly in front of it: WinRE moves down by the room taken.
  if (winre_it == parts.begin() || std::prev(winre_it)->role != Role::kWindows)
    return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                  d.path + ": WinRE (partition " + std::to_string(winre.number) +
                      ") has no free space behind it and does not directly follow Windows, "
                      "whose room it could take; Lifeboat moves no other partition");
  const Partition& windows = *std::prev(winre_it);
  auto ntfs = ShrinkableWindows(d, windows);
  if (!ntfs) return std::unexpected(ntfs.error());
  const Sectors shift{AlignUp(grow.count, grain)};
  const Bytes margin = policy.shrink_margin.value_or(DefaultShrinkMargin(*ntfs->min_size));
  const Bytes floor = *ntfs->min_size + margin;
  const Bytes windows_bytes = ToBytes(windows.size, ss);
  if (windows.size <= shift || windows_bytes - ToBytes(shift, ss) < floor) {
    const Bytes can_give = windows_bytes > floor ? windows_bytes - floor : Bytes{0};
    return Refuse(RefusalReason::kNotEnoughSpace,
                  d.path + ": WinRE needs " + HumanSize(ToBytes(shift, ss)) +
                      " more, which must come from Windows (partition " +
                      std::to_string(windows.number) + ", " + HumanSize(windows_bytes) +
                      ", at least " + HumanSize(*ntfs->min_size) + " in use), which must keep " +
                      HumanSize(margin) + " free beyond that and so can give at most " +
                      HumanSize(can_give) + "; free space on Windows or ask for less");
  }
  const Sectors new_windows = windows.size - shift;
  const Lba to = winre.start - shift;
  const Sectors new_winre = winre.size + shift;
  plan.recovery_start = to;
  plan.recovery_size = new_winre;
  plan.steps.push_back(ShrinkNtfsStep{windows.number, windows.start, ToBytes(new_windows, ss)});
  plan.steps.push_back(ResizePartitionStep{windows.number, windows.size, new_windows});
  plan.steps.push_back(MovePartitionStep{winre.number, winre.start, to, winre.size, winre.uuid});
  // What names WinRE by its place follows it at once, before anything else can fail.
  plan.steps.push_back(
      RetargetWinReStep{winre.number, windows.number, ToBytes(winre.start, ss), ToBytes(to, ss)});
  plan.steps.push_back(ResizePartitionStep{winre.number, winre.size, new_winre});
  plan.steps.push_back(GrowNtfsStep{winre.number, to, ToBytes(new_winre, ss)});
  return plan;
}

}  // namespace lifeboat::partition
