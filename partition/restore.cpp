#include "partition/restore.h"

#include <algorithm>
#include <ranges>

#include "partition/layout_check.h"
#include "partition/remove.h"
#include "partition/table_backup.h"

namespace lifeboat::partition {
namespace {

std::unexpected<Refusal> Refuse(RefusalReason reason, std::string message) {
  return std::unexpected(Refusal{reason, std::move(message)});
}

const Partition* Numbered(const DiskModel& d, uint32_t number) {
  auto it = std::find_if(d.partitions.begin(), d.partitions.end(),
                         [&](const Partition& p) { return p.number == number; });
  return it == d.partitions.end() ? nullptr : &*it;
}

std::string Where(Lba start, Sectors size) {
  return "sector " + std::to_string(start.value) + " (" + std::to_string(size.count) + " sectors)";
}

}  // namespace

std::expected<Plan, Refusal> MakeRestorePlan(const DiskModel& current, const DiskModel& original,
                                             const Plan& run, int64_t run_id) {
  const std::string who = "run " + std::to_string(run_id);
  if (run.goal != PlanGoal::kLifeboatPartition)
    return Refuse(RefusalReason::kInvalidPolicy,
                  who + " was a " + PlanGoalName(run.goal) +
                      " run, not a disk prepare; disk restore undoes prepares");
  if (current.disk_id != original.disk_id || current.label != original.label ||
      current.sector_size != original.sector_size || run.disk_id != current.disk_id)
    return Refuse(RefusalReason::kTableChanged,
                  current.path + " (disk id " + current.disk_id + ") is not the disk " + who +
                      " saved the table of (disk id " + original.disk_id + ")");
  if (auto problems = CheckLayout(current); !problems.empty())
    return Refuse(RefusalReason::kUnsafeTable, DescribeLayoutProblems(current, problems));

  Plan plan;
  plan.goal = PlanGoal::kRestoreTable;
  plan.disk_path = current.path;
  plan.disk_id = current.disk_id;
  plan.label = current.label;
  plan.sector_size = current.sector_size;
  if (SamePartitions(current, original)) {
    plan.steps.push_back(RestoreTableStep{run_id});  // only the table's bytes
    return plan;
  }

  // Where run N left each partition it found, and the one it created.
  std::vector<Partition> expected = original.partitions;
  const CreatePartitionStep* created = nullptr;
  const ShrinkNtfsStep* shrink = nullptr;
  std::vector<const MovePartitionStep*> moves;
  for (const auto& step : run.steps) {
    if (const auto* s = std::get_if<ResizePartitionStep>(&step)) {
      for (auto& p : expected)
        if (p.number == s->number) p.size = s->new_size;
    } else if (const auto* m = std::get_if<MovePartitionStep>(&step)) {
      for (auto& p : expected)
        if (p.number == m->number) p.start = m->to;
      moves.push_back(m);
    } else if (const auto* c = std::get_if<CreatePartitionStep>(&step)) {
      created = c;
    } else if (const auto* k = std::get_if<ShrinkNtfsStep>(&step)) {
      shrink = k;
    }
  }
  for (const auto& e : expected) {
    const Partition* now = Numbered(current, e.number);
    if (now == nullptr || now->start != e.start || now->size != e.size || now->type != e.type ||
        now->uuid != e.uuid)
      return Refuse(RefusalReason::kTableChanged,
                    current.path + ": partition " + std::to_string(e.number) + " is " +
                        (now ? "at " + Where(now->start, now->size) : std::string("gone")) +
                        ", but " + who + " left it at " + Where(e.start, e.size) +
                        "; the table changed since, so its saved table no longer describes the "
                        "disk's bytes");
  }
  const Partition* lifeboat = nullptr;
  for (const auto& p : current.partitions) {
    if (Numbered(original, p.number) != nullptr) continue;
    const bool made_by_run = created && p.start == created->start && p.size == created->size &&
                             p.type == created->type &&
                             (created->uuid.empty() || p.uuid == created->uuid);
    if (!made_by_run || lifeboat)
      return Refuse(RefusalReason::kTableChanged,
                    current.path + ": partition " + std::to_string(p.number) + " at " +
                        Where(p.start, p.size) + " was not made by " + who +
                        "; restoring its saved table would drop it");
    lifeboat = &p;
  }
  if (auto refusal = BitLockerProtectionRefusal(current)) return std::unexpected(*refusal);
  plan.steps.push_back(BackupTableStep{});
  if (lifeboat) {
    plan.recovery_start = lifeboat->start;
    plan.recovery_size = lifeboat->size;
    plan.recovery_uuid = lifeboat->uuid;
    plan.steps.push_back(DeletePartitionStep{lifeboat->number, lifeboat->start, lifeboat->size,
                                             lifeboat->type, lifeboat->uuid});
  }
  // Moved partitions back, the last move first; what names WinRE by its place follows it.
  const uint32_t windows = shrink ? shrink->number : 0;
  for (const MovePartitionStep* m : std::views::reverse(moves)) {
    plan.steps.push_back(MovePartitionStep{m->number, m->to, m->from, m->size, m->uuid});
    if (windows != 0)
      plan.steps.push_back(RetargetWinReStep{m->number, windows,
                                             ToBytes(m->to, current.sector_size),
                                             ToBytes(m->from, current.sector_size)});
  }
  // Shrunk volumes grow back to fill their old partitions.
  // A check flag on the volume run N shrank is taken as the one its ntfsresize set (Windows
  // clears it at its next start): the agent restores only the newest run on the disk.
  for (const auto& o : original.partitions) {
    const Partition* now = Numbered(current, o.number);
    if (now->size >= o.size) continue;
    const bool own_flag = shrink && shrink->number == o.number && now->ntfs && now->ntfs->dirty;
    Partition judged = *now;
    if (own_flag) judged.ntfs->dirty = false;
    if (auto refusal =
            GrowableRefusal(current, judged, o.role == Role::kWinRe ? "WinRE" : "Windows"))
      return std::unexpected(*refusal);
    plan.steps.push_back(ResizePartitionStep{o.number, now->size, o.size});
    plan.steps.push_back(
        GrowNtfsStep{o.number, o.start, ToBytes(o.size, current.sector_size), own_flag});
  }
  plan.steps.push_back(RestoreTableStep{run_id});
  return plan;
}

}  // namespace lifeboat::partition
