// The remove planner (partition/remove.h) is pure: disk models built by hand, GPT and MBR, 512-
// and 4096-byte sectors, laid out as disk prepare leaves them.
#include <gtest/gtest.h>

#include "partition/remove.h"
#include "tests/support/disk_builder.h"

namespace lifeboat::partition {
namespace {

using test::DiskBuilder;
using test::kProtectionOn;
using test::MiB;
using test::StepKinds;

using K = std::vector<std::string>;

// Lifeboat's partition as prepare makes it: a recovery type, named Lifeboat.
DiskBuilder& AddLifeboat(DiskBuilder& b, LabelKind label, uint64_t start, uint64_t size) {
  return b.Add(start, size, label == LabelKind::kGpt ? types::kGptRecovery : types::kMbrRecovery,
               FilesystemKind::kNtfs, [](Partition& p) {
                 p.name = "Lifeboat";
                 p.fs_label = "Lifeboat";
               });
}

class RemovePlan : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RemovePlan, ReclaimWindowsMovesWinReUpToTheEndOfTheRoomAndGrowsWindows) {
  const uint32_t ss = GetParam();
  for (const auto label : {LabelKind::kGpt, LabelKind::kMbr}) {
    auto b = DiskBuilder(label, ss, 8192);
    if (label == LabelKind::kGpt) b.UefiBoot();
    b.Windows(117, 6000, 2000).WinRe(6117, 500, 100);
    const DiskModel d = AddLifeboat(b, label, 6617, 1024).Build();
    const Partition& windows = d.partitions[d.partitions.size() - 3];
    const Partition& winre = d.partitions[d.partitions.size() - 2];
    const Partition& lifeboat = d.partitions.back();
    auto plan = MakeRemovePlan(d, Reclaim::kWindows);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->goal, PlanGoal::kRemoveLifeboat);
    EXPECT_EQ(plan->recovery_uuid, lifeboat.uuid);
    EXPECT_EQ(StepKinds(*plan), (K{"backup-table", "delete-partition", "move-partition",
                                   "retarget-winre", "resize-partition", "grow-ntfs"}));
    const auto& del = std::get<DeletePartitionStep>(plan->steps[1]);
    EXPECT_EQ(del.number, lifeboat.number);
    EXPECT_EQ(del.uuid, lifeboat.uuid);
    // WinRE ends where Lifeboat ended; Windows grows up to it.
    const auto& move = std::get<MovePartitionStep>(plan->steps[2]);
    EXPECT_EQ(move.from, winre.start);
    EXPECT_EQ(move.to + winre.size, lifeboat.End());
    EXPECT_EQ(move.uuid, winre.uuid);
    const auto& retarget = std::get<RetargetWinReStep>(plan->steps[3]);
    EXPECT_EQ(retarget.to_offset, ToBytes(move.to, ss));
    EXPECT_EQ(retarget.windows, windows.number);
    const auto& resize = std::get<ResizePartitionStep>(plan->steps[4]);
    EXPECT_EQ(resize.number, windows.number);
    EXPECT_EQ(windows.start + resize.new_size, move.to);
    EXPECT_EQ(std::get<GrowNtfsStep>(plan->steps[5]).new_size, ToBytes(resize.new_size, ss));
  }
}

TEST_P(RemovePlan, ReclaimWinReGrowsItInPlaceAndNoneOnlyDeletes) {
  const uint32_t ss = GetParam();
  auto b = DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().Windows(117, 6000, 2000);
  b.WinRe(6117, 500, 100);
  const DiskModel d = AddLifeboat(b, LabelKind::kGpt, 6617, 1024).Build();
  auto winre = MakeRemovePlan(d, Reclaim::kWinRe);
  ASSERT_TRUE(winre) << winre.error().message;
  EXPECT_EQ(StepKinds(*winre),
            (K{"backup-table", "delete-partition", "resize-partition", "grow-ntfs"}));
  EXPECT_EQ(std::get<ResizePartitionStep>(winre->steps[2]).new_size,
            Sectors{(500 + 1024) * MiB / ss});
  auto none = MakeRemovePlan(d, Reclaim::kNone);
  ASSERT_TRUE(none);
  EXPECT_EQ(StepKinds(*none), (K{"backup-table", "delete-partition"}));
}

TEST_P(RemovePlan, WindowsDirectlyInFrontTakesTheRoomWithoutMoves) {
  const uint32_t ss = GetParam();
  auto b = DiskBuilder(LabelKind::kMbr, ss, 8192).Windows(1, 6000, 2000);
  const DiskModel d = AddLifeboat(b, LabelKind::kMbr, 6001, 1024).Build();
  auto plan = MakeRemovePlan(d, Reclaim::kWindows);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(StepKinds(*plan),
            (K{"backup-table", "delete-partition", "resize-partition", "grow-ntfs"}));
  auto winre = MakeRemovePlan(d, Reclaim::kWinRe);
  ASSERT_FALSE(winre);
  EXPECT_EQ(winre.error().reason, RefusalReason::kUnknownPartitionInTheWay);
}

TEST_P(RemovePlan, NothingToRemoveAndRefusals) {
  const uint32_t ss = GetParam();
  const DiskModel plain =
      DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().Windows(117, 6000, 2000).Build();
  auto nothing = MakeRemovePlan(plain, Reclaim::kWindows);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->NothingToDo());

  // BitLocker protection on anywhere: the boot path is not changed.
  auto locked =
      DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().BitLocker(117, 6000, kProtectionOn);
  auto refused =
      MakeRemovePlan(AddLifeboat(locked, LabelKind::kGpt, 6117, 1024).Build(), Reclaim::kNone);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, RefusalReason::kBitLockerProtectionOn);

  // Windows marked for chkdsk or hibernated is not grown; the plain removal is still allowed.
  for (auto tweak : {+[](Partition& p) { p.ntfs->dirty = true; },
                     +[](Partition& p) { p.ntfs->hibernated = true; }}) {
    auto b = DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().Windows(117, 6000, 2000, tweak);
    const DiskModel d = AddLifeboat(b, LabelKind::kGpt, 6117, 1024).Build();
    auto grow = MakeRemovePlan(d, Reclaim::kWindows);
    ASSERT_FALSE(grow);
    EXPECT_TRUE(grow.error().reason == RefusalReason::kNtfsDirty ||
                grow.error().reason == RefusalReason::kHibernated);
    EXPECT_TRUE(MakeRemovePlan(d, Reclaim::kNone));
  }
  // Something else between Windows and Lifeboat: Lifeboat moves no other partition.
  auto data = DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().Windows(117, 5000, 2000);
  data.Add(5117, 500, types::kGptBasicData, FilesystemKind::kNtfs);
  auto blocked =
      MakeRemovePlan(AddLifeboat(data, LabelKind::kGpt, 5617, 1024).Build(), Reclaim::kWindows);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().reason, RefusalReason::kUnknownPartitionInTheWay);
}

TEST(Reclaim, NamesRoundTrip) {
  for (Reclaim r : {Reclaim::kNone, Reclaim::kWindows, Reclaim::kWinRe})
    EXPECT_EQ(ParseReclaim(ReclaimName(r)), r);
  EXPECT_FALSE(ParseReclaim("everyone"));
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, RemovePlan, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace lifeboat::partition
