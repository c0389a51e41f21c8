// The WinRE grow planner (partition/winre.h) is pure: disk models built by hand, for 512- and
// 4096-byte sectors, GPT and MBR.
#include <gtest/gtest.h>

#include "partition/winre.h"
#include "tests/support/disk_builder.h"

namespace lifeboat::partition {
namespace {

using test::DiskBuilder;
using test::kProtectionOn;
using test::MiB;
using test::StepKinds;

using K = std::vector<std::string>;
const K kFromWindows = {"backup-table",   "shrink-ntfs",      "resize-partition", "move-partition",
                        "retarget-winre", "resize-partition", "grow-ntfs"};
const K kInPlace = {"backup-table", "resize-partition", "grow-ntfs"};

WinReGrowPolicy Free(uint64_t mib) {
  WinReGrowPolicy p;
  p.free = Bytes{mib * MiB};
  p.shrink_margin = Bytes{1024 * MiB};
  return p;
}
WinReGrowPolicy Size(uint64_t mib) {
  WinReGrowPolicy p;
  p.size = Bytes{mib * MiB};
  p.shrink_margin = Bytes{1024 * MiB};
  return p;
}

class WinReGrow : public ::testing::TestWithParam<uint32_t> {};

TEST_P(WinReGrow, TakesRoomFromWindowsMovingWinReDownAndKeepingItsGuid) {
  const uint32_t ss = GetParam();
  for (const auto label : {LabelKind::kGpt, LabelKind::kMbr}) {
    auto builder = DiskBuilder(label, ss, 8192);
    if (label == LabelKind::kGpt) builder.UefiBoot();
    const DiskModel d = builder.Windows(117, 7500, 2000).WinRe(7617, 500, 60).Build();
    const Partition& windows = d.partitions[d.partitions.size() - 2];
    const Partition& winre = d.partitions.back();
    auto plan = MakeWinReGrowPlan(d, Free(250));
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(StepKinds(*plan), kFromWindows);
    EXPECT_EQ(plan->goal, PlanGoal::kGrowWinRe);
    EXPECT_EQ(plan->recovery_uuid, winre.uuid);
    // 190 MiB short, one more for the bitmap and rounding: 191 MiB, aligned to 1 MiB.
    const Sectors shift{191 * MiB / ss};
    EXPECT_EQ(plan->recovery_start, winre.start - shift);
    EXPECT_EQ(plan->recovery_size, winre.size + shift);
    const auto& shrink = std::get<ShrinkNtfsStep>(plan->steps[1]);
    EXPECT_EQ(shrink.number, windows.number);
    EXPECT_EQ(shrink.new_size, ToBytes(windows.size - shift, ss));
    const auto& move = std::get<MovePartitionStep>(plan->steps[3]);
    EXPECT_EQ(move.uuid, winre.uuid);
    EXPECT_EQ(move.to, winre.start - shift);
    EXPECT_EQ(move.size, winre.size);
    const auto& follow = std::get<RetargetWinReStep>(plan->steps[4]);
    EXPECT_EQ(follow.winre, winre.number);
    EXPECT_EQ(follow.windows, windows.number);
    EXPECT_EQ(follow.from_offset, ToBytes(winre.start, ss));
    EXPECT_EQ(follow.to_offset, ToBytes(move.to, ss));
    const auto& grow = std::get<GrowNtfsStep>(plan->steps[6]);
    EXPECT_EQ(grow.start, move.to);
    EXPECT_EQ(grow.new_size, ToBytes(winre.size + shift, ss));
  }
}

TEST_P(WinReGrow, GrowsInPlaceIntoFreeSpaceBehindItAndDoesNothingWhenLargeEnough) {
  const uint32_t ss = GetParam();
  const DiskModel d = DiskBuilder(LabelKind::kGpt, ss, 8192)
                          .UefiBoot()
                          .Windows(117, 6000, 2000)
                          .WinRe(6117, 500, 60)
                          .Build();
  auto plan = MakeWinReGrowPlan(d, Size(1024));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(StepKinds(*plan), kInPlace);
  EXPECT_EQ(plan->recovery_start, d.partitions.back().start);
  EXPECT_EQ(plan->recovery_size, Sectors{1024 * MiB / ss});

  for (const auto& policy : {Free(60), Free(10), Size(500), Size(100)}) {
    auto nothing = MakeWinReGrowPlan(d, policy);
    ASSERT_TRUE(nothing);
    EXPECT_TRUE(nothing->NothingToDo());
  }
}

TEST_P(WinReGrow, RefusesWhatItCannotDoSafely) {
  const uint32_t ss = GetParam();
  const auto gpt = LabelKind::kGpt;
  struct Case {
    std::string name;
    DiskModel disk;
    WinReGrowPolicy policy;
    RefusalReason reason;
  };
  const std::vector<Case> cases = {
      {"no WinRE", DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 8000, 2000).Build(),
       Free(250), RefusalReason::kNoWinRe},
      {"not looked inside",
       DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 7500, 2000).WinRe(7617, 500).Build(),
       Free(250), RefusalReason::kNtfsNotInspected},
      {"Windows cannot give the room",
       DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 7500, 7000).WinRe(7617, 500, 60).Build(),
       Free(250), RefusalReason::kNotEnoughSpace},
      {"a data partition between Windows and WinRE",
       DiskBuilder(gpt, ss, 8192)
           .UefiBoot()
           .Windows(117, 6000, 2000)
           .Add(6117, 1500, types::kGptBasicData, FilesystemKind::kNtfs)
           .WinRe(7617, 500, 60)
           .Build(),
       Free(250), RefusalReason::kUnknownPartitionInTheWay},
      {"BitLocker protection on",
       DiskBuilder(gpt, ss, 8192)
           .UefiBoot()
           .BitLocker(117, 7500, kProtectionOn)
           .WinRe(7617, 500, 60)
           .Build(),
       Free(250), RefusalReason::kBitLockerProtectionOn},
      {"a size beyond the disk",
       DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 7500, 2000).WinRe(7617, 500, 60).Build(),
       Size(9000), RefusalReason::kNotEnoughSpace},
      {"both --free and --size",
       DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 7500, 2000).WinRe(7617, 500, 60).Build(),
       [] {
         auto p = Free(250);
         p.size = Bytes{1024 * MiB};
         return p;
       }(),
       RefusalReason::kInvalidPolicy},
  };
  for (const auto& c : cases) {
    auto plan = MakeWinReGrowPlan(c.disk, c.policy);
    ASSERT_FALSE(plan) << c.name;
    EXPECT_EQ(plan.error().reason, c.reason) << c.name << ": " << plan.error().message;
  }
  // A dirty WinRE.
  DiskModel dirty =
      DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 7500, 2000).WinRe(7617, 500, 60).Build();
  dirty.partitions.back().ntfs->dirty = true;
  EXPECT_EQ(MakeWinReGrowPlan(dirty, Free(250)).error().reason, RefusalReason::kNtfsDirty);
  // A logical WinRE on MBR, inside an extended partition.
  DiskModel logical =
      DiskBuilder(LabelKind::kMbr, ss, 8192)
          .Windows(1, 7500, 2000)
          .Add(7600, 592, "0x05", FilesystemKind::kNone, [](Partition& p) { p.container = true; })
          .WinRe(7617, 500, 60)
          .Build();
  logical.partitions.back().number = 5;
  EXPECT_EQ(MakeWinReGrowPlan(logical, Free(250)).error().reason,
            RefusalReason::kUnknownPartitionInTheWay);
}

TEST_P(WinReGrow, SummarySaysHowMuchTheWinReUpdateLacks) {
  const uint32_t ss = GetParam();
  const DiskModel d = DiskBuilder(LabelKind::kGpt, ss, 8192)
                          .UefiBoot()
                          .Windows(117, 7500, 2000)
                          .WinRe(7617, 500, 60)
                          .Build();
  const WinReSummary s = SummarizeWinRe(d);
  ASSERT_NE(s.winre, nullptr);
  EXPECT_EQ(s.winre->number, d.partitions.back().number);
  EXPECT_TRUE(s.follows_windows);
  EXPECT_EQ(*s.free, Bytes{60 * MiB});
  EXPECT_EQ(*s.missing, kWinReUpdateFree - Bytes{60 * MiB});
  EXPECT_EQ(ToBytes(s.room_behind, ss), Bytes{(8192 - 8117 - 1) * MiB})
      << "up to the last usable sector, aligned down";
  EXPECT_EQ(SummarizeWinRe(DiskBuilder(LabelKind::kGpt, ss, 8192).UefiBoot().Build()).winre,
            nullptr);
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, WinReGrow, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace lifeboat::partition
