// The restore planner (partition/restore.h) is pure: the disk before a prepare, the prepare's own
// plan (from the real planner), and the disk after it, built by hand.
#include <gtest/gtest.h>

#include "partition/planner.h"
#include "partition/restore.h"
#include "tests/support/disk_builder.h"

namespace lifeboat::partition {
namespace {

using test::DiskBuilder;
using test::MiB;
using test::StepKinds;

using K = std::vector<std::string>;

// The disk as `plan` leaves it (sizes, places; Lifeboat's partition added, named as prepare names
// it; Windows marked for chkdsk, as ntfsresize leaves it).
DiskModel After(const DiskModel& before, const Plan& plan) {
  DiskModel d = before;
  for (const auto& step : plan.steps) {
    if (const auto* r = std::get_if<ResizePartitionStep>(&step)) {
      for (auto& p : d.partitions)
        if (p.number == r->number) p.size = r->new_size;
    } else if (const auto* m = std::get_if<MovePartitionStep>(&step)) {
      for (auto& p : d.partitions)
        if (p.number == m->number) p.start = m->to;
    } else if (const auto* s = std::get_if<ShrinkNtfsStep>(&step)) {
      for (auto& p : d.partitions)
        if (p.number == s->number) p.ntfs->dirty = true;
    } else if (const auto* c = std::get_if<CreatePartitionStep>(&step)) {
      Partition p;
      p.number = static_cast<uint32_t>(d.partitions.size() + 1);
      p.start = c->start;
      p.size = c->size;
      p.type = c->type;
      p.uuid = c->uuid;
      p.name = c->name;
      p.role = Role::kLifeboat;
      p.filesystem = FilesystemKind::kNtfs;
      d.partitions.push_back(p);
    }
  }
  return d;
}

class RestorePlan : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RestorePlan, UndoesAPrepareStepByStepAndEndsWithTheSavedTable) {
  const uint32_t ss = GetParam();
  const DiskModel before = DiskBuilder(LabelKind::kGpt, ss, 8192)
                               .UefiBoot()
                               .Windows(117, 7500, 2000)
                               .WinRe(7617, 500)
                               .Build();
  PlanPolicy policy;
  policy.shrink_margin = Bytes{100 * MiB};
  auto prepare = MakePlan(before, policy);
  ASSERT_TRUE(prepare) << prepare.error().message;
  const DiskModel after = After(before, *prepare);
  auto plan = MakeRestorePlan(after, before, *prepare, 7);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->goal, PlanGoal::kRestoreTable);
  EXPECT_EQ(StepKinds(*plan),
            (K{"backup-table", "delete-partition", "move-partition", "retarget-winre",
               "resize-partition", "grow-ntfs", "restore-table"}));
  const auto& move = std::get<MovePartitionStep>(plan->steps[2]);
  EXPECT_EQ(move.to, before.partitions.back().start);  // WinRE back where it was
  const auto& grow = std::get<GrowNtfsStep>(plan->steps[5]);
  EXPECT_EQ(grow.new_size, ToBytes(before.partitions[2].size, ss));
  EXPECT_TRUE(grow.own_check_flag) << "the flag the prepare's ntfsresize left";
  EXPECT_EQ(std::get<RestoreTableStep>(plan->steps.back()).run, 7);

  // Already back: only the table's bytes.
  auto again = MakeRestorePlan(before, before, *prepare, 7);
  ASSERT_TRUE(again);
  EXPECT_EQ(StepKinds(*again), (K{"restore-table"}));
}

TEST_P(RestorePlan, ATableThatChangedSinceOrAnotherGoalIsRefused) {
  const uint32_t ss = GetParam();
  const DiskModel before =
      DiskBuilder(LabelKind::kMbr, ss, 8192).Windows(1, 7600, 2000).WinRe(7601, 500).Build();
  PlanPolicy policy;
  policy.shrink_margin = Bytes{100 * MiB};
  auto prepare = MakePlan(before, policy);
  ASSERT_TRUE(prepare) << prepare.error().message;
  DiskModel after = After(before, *prepare);

  DiskModel moved = after;
  moved.partitions.back().size = moved.partitions.back().size - Sectors{MiB / ss};
  auto changed = MakeRestorePlan(moved, before, *prepare, 1);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().reason, RefusalReason::kTableChanged);

  DiskModel extra = after;
  extra.partitions.back().type = types::kGptBasicData;  // not what the prepare made
  EXPECT_FALSE(MakeRestorePlan(extra, before, *prepare, 1));

  Plan grow = *prepare;
  grow.goal = PlanGoal::kGrowWinRe;
  auto other = MakeRestorePlan(after, before, grow, 1);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().reason, RefusalReason::kInvalidPolicy);
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, RestorePlan, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace lifeboat::partition
