// The planner is pure: these tests build disk models by hand, for 512- and 4096-byte sectors.
#include "partition/planner.h"

#include <gtest/gtest.h>

#include "tests/support/disk_builder.h"

namespace lifeboat::partition {
namespace {

using test::DiskBuilder;
using test::kProtectionOn;
using test::kSuspended;
using test::MiB;
using test::StepKinds;

using K = std::vector<std::string>;
const K kShrinkAndMove = {"backup-table",   "shrink-ntfs",    "resize-partition",
                          "move-partition", "retarget-winre", "create-partition",
                          "format-ntfs"};
const K kShrink = {"backup-table", "shrink-ntfs", "resize-partition", "create-partition",
                   "format-ntfs"};
const K kUseFree = {"backup-table", "create-partition", "format-ntfs"};

struct Case {
  std::string name;
  std::function<DiskModel(uint32_t ss)> disk;
  PlanPolicy policy;
  K steps;                               // expected step kinds when planned
  std::optional<RefusalReason> refusal;  // or the expected refusal
};

PlanPolicy Size(uint64_t mib, std::optional<uint64_t> margin_mib = 1024) {
  PlanPolicy p;
  p.recovery_size = Bytes{mib * MiB};
  if (margin_mib) p.shrink_margin = Bytes{*margin_mib * MiB};
  return p;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> Cases() {
  const auto gpt = LabelKind::kGpt;
  const auto mbr = LabelKind::kMbr;
  return {
      {"gpt_winre_no_free_space_shrinks_and_moves",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 7000, 2000)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       kShrinkAndMove,
       {}},
      {"gpt_winre_enough_free_space_after_it",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 5000, 2000)
             .WinRe(5117, 500)
             .Build();
       },
       Size(1024),
       kUseFree,
       {}},
      {"gpt_some_free_space_shrinks_only_the_rest",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 6800, 2000)
             .WinRe(6917, 500)
             .Build();
       },
       Size(1024),
       kShrinkAndMove,
       {}},
      {"gpt_no_winre_windows_last_shrinks_without_move",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 8000, 2000).Build();
       },
       Size(1024),
       kShrink,
       {}},
      {"gpt_winre_before_windows_is_not_moved",
       [=](uint32_t ss) {
         // (This layout overlapped WinRE with the ESP until the layout check caught it.)
         return DiskBuilder(gpt, ss, 8192)
             .WinRe(1, 500)
             .Add(501, 100, types::kGptEsp, FilesystemKind::kFat)
             .Add(601, 16, types::kGptMsr, FilesystemKind::kNone)
             .Windows(617, 7500, 2000)
             .Build();
       },
       Size(1024),
       kShrink,
       {}},
      {"gpt_lifeboat_large_enough_nothing_to_do",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 6000, 2000)
             .WinRe(6117, 500)
             .Add(6617, 1200, types::kGptRecovery, FilesystemKind::kNtfs,
                  [](Partition& p) { p.name = "Lifeboat"; })
             .Build();
       },
       Size(1024),
       {},
       {}},
      {"gpt_lifeboat_too_small_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 6000, 2000)
             .WinRe(6117, 500)
             .Add(6617, 512, types::kGptRecovery, FilesystemKind::kNtfs,
                  [](Partition& p) { p.fs_label = "Lifeboat"; })
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kLifeboatTooSmall},
      {"gpt_bitlocker_needing_shrink_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .BitLocker(117, 7000, kSuspended)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kBitLocker},
      {"gpt_bitlocker_with_free_space_is_fine",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .BitLocker(117, 5000, kSuspended)
             .WinRe(5117, 500)
             .Build();
       },
       Size(1024),
       kUseFree,
       {}},
      {"gpt_bitlocker_protection_on_refused_though_there_is_room",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .BitLocker(117, 5000, kProtectionOn)
             .WinRe(5117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kBitLockerProtectionOn},
      {"gpt_bitlocker_metadata_unreadable_counts_as_protection_on",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Add(117, 5000, types::kGptBasicData, FilesystemKind::kBitLocker,
                  [](Partition& p) {
                    p.bitlocker = BitLockerInfo{};
                    p.bitlocker->problem = "no -FVE-FS- signature at the start of the block";
                  })
             .WinRe(5117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kBitLockerProtectionOn},
      {"gpt_dirty_ntfs_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 7000, 2000, [](Partition& p) { p.ntfs->dirty = true; })
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNtfsDirty},
      {"gpt_hibernated_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 7000, 2000, [](Partition& p) { p.ntfs->hibernated = true; })
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kHibernated},
      {"gpt_not_enough_shrinkable_space_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 7000, 6000)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNotEnoughSpace},
      {"gpt_margin_is_respected",
       // 450 MiB must come from a 7000 MiB volume with 5600 MiB in use: with the 1 GiB margin
       // only 376 MiB may go, although ntfsresize alone would allow 1400.
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 7000, 5600)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNotEnoughSpace},
      {"gpt_unknown_partition_between_windows_and_winre_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 6900, 2000)
             .Add(7017, 100, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", FilesystemKind::kOther)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kUnknownPartitionInTheWay},
      {"gpt_unknown_partition_after_winre_stays_put",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Windows(117, 6500, 2000)
             .WinRe(6617, 500)
             .Add(7117, 1000, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", FilesystemKind::kOther)
             .Build();
       },
       Size(1024),
       kShrinkAndMove,
       {}},
      {"gpt_not_windows_refused",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Add(117, 7000, types::kGptBasicData, FilesystemKind::kNtfs,
                  [](Partition& p) { p.ntfs = NtfsDetails{}; })
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNotWindowsDisk},
      {"gpt_needing_repair_refused",
       [=](uint32_t ss) {
         auto d = DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 5000, 2000).Build();
         d.needs_repair = true;
         d.repair_reason = "primary header corrupt";
         return d;
       },
       Size(1024),
       {},
       RefusalReason::kGptNeedsRepair},
      {"gpt_needing_repair_allowed_explicitly",
       [=](uint32_t ss) {
         auto d = DiskBuilder(gpt, ss, 8192).UefiBoot().Windows(117, 5000, 2000).Build();
         d.needs_repair = true;
         return d;
       },
       [] {
         auto p = Size(1024);
         p.allow_gpt_repair = true;
         return p;
       }(),
       kUseFree,
       {}},
      {"no_partition_table_refused",
       [=](uint32_t ss) { return DiskBuilder(LabelKind::kNone, ss, 8192).Build(); },
       Size(1024),
       {},
       RefusalReason::kNoPartitionTable},
      {"mbr_system_reserved_windows_winre_shrinks_and_moves",
       [=](uint32_t ss) {
         return DiskBuilder(mbr, ss, 8192)
             .Add(1, 100, types::kMbrNtfs, FilesystemKind::kNtfs,
                  [](Partition& p) {
                    p.bootable = true;
                    p.ntfs = NtfsDetails{};
                  })
             .Windows(101, 7500, 2000)
             .WinRe(7601, 500)
             .Build();
       },
       Size(1024),
       kShrinkAndMove,
       {}},
      {"mbr_four_primaries_refused",
       [=](uint32_t ss) {
         return DiskBuilder(mbr, ss, 8192)
             .Add(1, 100, types::kMbrNtfs, FilesystemKind::kNtfs,
                  [](Partition& p) {
                    p.bootable = true;
                    p.ntfs = NtfsDetails{};
                  })
             .Windows(101, 5000, 2000)
             .WinRe(5101, 500)
             .Add(5601, 100, "0x83", FilesystemKind::kOther)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNoFreePrimarySlot},
      {"ntfs_not_inspected_refused_when_shrinking",
       [=](uint32_t ss) {
         return DiskBuilder(gpt, ss, 8192)
             .UefiBoot()
             .Add(117, 7000, types::kGptBasicData, FilesystemKind::kNtfs)
             .WinRe(7117, 500)
             .Build();
       },
       Size(1024),
       {},
       RefusalReason::kNtfsNotInspected},
  };
}

class PlannerTest : public ::testing::TestWithParam<std::tuple<Case, uint32_t>> {};

TEST_P(PlannerTest, PlansOrRefusesAsExpected) {
  const auto& [c, ss] = GetParam();
  const DiskModel disk = c.disk(ss);
  auto plan = MakePlan(disk, c.policy);
  if (c.refusal) {
    ASSERT_FALSE(plan.has_value()) << "expected a refusal, got " << plan->steps.size() << " steps";
    EXPECT_EQ(RefusalName(plan.error().reason), std::string(RefusalName(*c.refusal)))
        << plan.error().message;
    EXPECT_NE(plan.error().message.find("test.img"), std::string::npos)
        << "a refusal names the disk";
    return;
  }
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(StepKinds(*plan), c.steps);

  // Whatever the case: the target is 1 MiB aligned, large enough, inside the disk, and overlaps
  // no partition that stays where it is.
  const uint64_t grain = MiB / ss;
  EXPECT_EQ(plan->recovery_start.value % grain, 0u);
  EXPECT_GE(ToBytes(plan->recovery_size, ss), c.policy.recovery_size);
  EXPECT_LE((plan->recovery_start + plan->recovery_size).value, disk.last_usable.value + 1);
  if (plan->NothingToDo()) return;

  uint64_t shrink_by = 0;
  const MovePartitionStep* move = nullptr;
  for (const auto& s : plan->steps) {
    if (auto* r = std::get_if<ResizePartitionStep>(&s))
      shrink_by = (r->old_size - r->new_size).count;
    if (auto* m = std::get_if<MovePartitionStep>(&s)) move = m;
    if (auto* sh = std::get_if<ShrinkNtfsStep>(&s)) {
      const Partition* w = disk.WithRole(Role::kWindows);
      ASSERT_NE(w, nullptr);
      // Never below ntfsresize's minimum plus the margin.
      EXPECT_GE(sh->new_size, *w->ntfs->min_size + *c.policy.shrink_margin);
    }
  }
  EXPECT_EQ(shrink_by % grain, 0u);
  if (move) {
    EXPECT_EQ((move->from - move->to).count, shrink_by) << "WinRE moves down by exactly the shrink";
    EXPECT_EQ(move->to.value % grain, 0u);
    EXPECT_EQ(move->uuid, disk.WithRole(Role::kWinRe)->uuid);
    EXPECT_GE(plan->recovery_start, move->to + move->size) << "Lifeboat goes after WinRE";
    EXPECT_EQ(plan->notes.empty(), disk.label == LabelKind::kGpt)
        << "MBR records the offset change";
  }
  for (const auto& p : disk.partitions) {
    if (p.role == Role::kWindows || (move && p.number == move->number)) continue;
    const bool overlaps =
        p.start < plan->recovery_start + plan->recovery_size && plan->recovery_start < p.End();
    EXPECT_FALSE(overlaps) << "overlaps partition " << p.number;
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, PlannerTest,
                         ::testing::Combine(::testing::ValuesIn(Cases()),
                                            ::testing::Values(512u, 4096u)),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param).name + "_" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

// An encrypted volume is never shrunk from Linux, suspended or not: the refusal says to make room
// from Windows, and no longer that suspending BitLocker would let Lifeboat shrink it.
TEST(PlannerBitLocker, TheRefusalSaysRoomIsMadeFromWindowsNotBySuspending) {
  const DiskModel disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                             .UefiBoot()
                             .BitLocker(117, 7000, kSuspended)
                             .WinRe(7117, 500)
                             .Build();
  auto plan = MakePlan(disk, Size(1024));
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().reason, RefusalReason::kBitLocker);
  EXPECT_NE(plan.error().message.find("never shrunk from Linux"), std::string::npos)
      << plan.error().message;
  EXPECT_NE(plan.error().message.find("Shrink the volume from Windows"), std::string::npos)
      << plan.error().message;
  EXPECT_EQ(plan.error().message.find("or suspend BitLocker"), std::string::npos)
      << plan.error().message;
}

// With protection on, the refusal names the volume and its protectors and says how to suspend
// protection for one reboot from Windows; once suspended, nothing about BitLocker stops the plan.
TEST(PlannerBitLocker, ProtectionOnIsRefusedWithHowToSuspendItForOneReboot) {
  const DiskModel on = DiskBuilder(LabelKind::kGpt, 512, 8192)
                           .UefiBoot()
                           .BitLocker(117, 5000, kProtectionOn)
                           .WinRe(5117, 500)
                           .Build();
  auto refusal = BitLockerProtectionRefusal(on);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->reason, RefusalReason::kBitLockerProtectionOn);
  for (const char* part :
       {"partition 3 (windows) has BitLocker protection on (protectors: tpm, recovery-password)",
        "recovery key", "manage-bde -protectors -disable C: -RebootCount 1",
        "Suspend-BitLocker -MountPoint C: -RebootCount 1", "Nothing was changed"})
    EXPECT_NE(refusal->message.find(part), std::string::npos) << part << "\n" << refusal->message;

  const DiskModel suspended = DiskBuilder(LabelKind::kGpt, 512, 8192)
                                  .UefiBoot()
                                  .BitLocker(117, 5000, kSuspended)
                                  .WinRe(5117, 500)
                                  .Build();
  EXPECT_FALSE(BitLockerProtectionRefusal(suspended));
  EXPECT_TRUE(MakePlan(suspended, Size(1024)).has_value());
}

TEST(PlannerDefaults, RecoverySizeHoldsTwoImagesAndAtLeastOneGiB) {
  EXPECT_EQ(DefaultRecoverySize(std::nullopt), kGiB);
  EXPECT_EQ(DefaultRecoverySize(Bytes{300 * MiB}), kGiB);
  EXPECT_EQ(DefaultRecoverySize(Bytes{700 * MiB}).value, 1472 * MiB);  // 2 x 700 + 64, on 64 MiB
}

TEST(PlannerDefaults, ShrinkMarginIsOneGiBOrTenPercent) {
  EXPECT_EQ(DefaultShrinkMargin(Bytes{2048 * MiB}), kGiB);
  EXPECT_EQ(DefaultShrinkMargin(Bytes{40960 * MiB}).value, 4096 * MiB);
}

TEST(PlannerMoves, WinReMovesByTheExactDeficit) {
  // 8 GiB disk, WinRE ends at 7617 MiB: 574 MiB free before the backup GPT, 1024 wanted.
  auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                  .UefiBoot()
                  .Windows(117, 7000, 2000)
                  .WinRe(7117, 500)
                  .Build();
  auto plan = MakePlan(disk, Size(1024));
  ASSERT_TRUE(plan.has_value());
  const auto& move = std::get<MovePartitionStep>(plan->steps[3]);
  EXPECT_EQ(move.from.value, 7117 * MiB / 512);
  EXPECT_EQ(ToBytes(move.from - move.to, 512).value, 450 * MiB);  // 1024 - (8191 - 7617)
  EXPECT_EQ(plan->recovery_start.value, (7617 - 450) * MiB / 512);
}

TEST(PlannerSizes, EverySizeIsCheckedBeforeAnyArithmetic) {
  auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192).UefiBoot().Windows(117, 7000, 2000).Build();
  auto refused = [&](Bytes size, std::optional<Bytes> image = std::nullopt,
                     std::optional<Bytes> margin = std::nullopt) -> std::optional<RefusalReason> {
    PlanPolicy policy;
    policy.recovery_size = size;
    policy.image_size = image;
    policy.shrink_margin = margin;
    auto plan = MakePlan(disk, policy);
    if (plan) return std::nullopt;
    return plan.error().reason;
  };
  // --size 1K made a 1 MiB partition that mkntfs then failed on.
  EXPECT_EQ(refused(Bytes{1024}), RefusalReason::kInvalidPolicy);
  EXPECT_EQ(refused(Bytes{63 * MiB}), RefusalReason::kInvalidPolicy);
  EXPECT_EQ(refused(Bytes{64 * MiB}), std::nullopt);
  // ... and below what the image itself needs.
  EXPECT_EQ(refused(Bytes{300 * MiB}, Bytes{400 * MiB}), RefusalReason::kInvalidPolicy);
  // --size 18446744073709551615 wrapped round to a 0-byte partition.
  EXPECT_EQ(refused(Bytes{~uint64_t{0}}), RefusalReason::kNotEnoughSpace);
  EXPECT_EQ(refused(Bytes{8192 * MiB}), RefusalReason::kNotEnoughSpace);
  EXPECT_EQ(refused(kGiB, Bytes{~uint64_t{0}}), RefusalReason::kNotEnoughSpace);
  EXPECT_EQ(refused(kGiB, std::nullopt, Bytes{~uint64_t{0}}), RefusalReason::kInvalidPolicy);
  // A default derived from an absurd image size saturates instead of wrapping.
  EXPECT_GT(DefaultRecoverySize(Bytes{~uint64_t{0}}), Bytes{8192 * MiB});
  EXPECT_EQ(refused(DefaultRecoverySize(Bytes{~uint64_t{0} / 2 + 5})),
            RefusalReason::kNotEnoughSpace);
}

}  // namespace
}  // namespace lifeboat::partition
