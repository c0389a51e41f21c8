// One test per layout rule: tables that are valid byte for byte (CRCs right) but describe an
// impossible disk are refused before any plan, naming the partitions.
#include "partition/layout_check.h"

#include <gtest/gtest.h>

#include "partition/disk_handle.h"
#include "partition/disk_reader.h"
#include "partition/planner.h"
#include "tests/support/disk_builder.h"
#include "tests/support/test_support.h"

namespace lifeboat::partition {
namespace {

constexpr uint64_t kMiBSectors = 2048;  // 512-byte sectors

Partition Part(uint32_t number, uint64_t start_mib, uint64_t size_mib, std::string type) {
  Partition p;
  p.number = number;
  p.start = Lba{start_mib * kMiBSectors};
  p.size = Sectors{size_mib * kMiBSectors};
  p.type = std::move(type);
  p.uuid = "UUID-" + std::to_string(number);
  return p;
}

// A 4 GiB Windows disk as Windows Setup lays it out: ESP, MSR, Windows, WinRE.
DiskModel Gpt() {
  DiskModel d = test::DiskBuilder(LabelKind::kGpt, 512, 4096)
                    .UefiBoot()
                    .Windows(117, 3000, 1024)
                    .WinRe(3117, 200)
                    .Build();
  d.path = "disk.img";
  d.mbr_entries = {{1, 0xEE, Lba{1}, Sectors{d.total.count - 1}}};
  return d;
}

DiskModel Mbr() {
  DiskModel d;
  d.path = "disk.img";
  d.label = LabelKind::kMbr;
  d.disk_id = "0x12345678";
  d.total = Sectors{4096 * kMiBSectors};
  d.first_usable = Lba{2048};
  d.last_usable = Lba{d.total.count - 1};
  d.partitions = {Part(1, 1, 100, types::kMbrNtfs), Part(2, 101, 3000, types::kMbrNtfs),
                  Part(3, 3101, 200, types::kMbrRecovery)};
  d.partitions[0].bootable = true;
  return d;
}

std::vector<std::string> Rules(const DiskModel& d) {
  std::vector<std::string> rules;
  for (const auto& p : CheckLayout(d)) rules.push_back(p.rule);
  return rules;
}

using R = std::vector<std::string>;

TEST(LayoutCheck, SoundTablesPass) {
  EXPECT_TRUE(CheckLayout(Gpt()).empty());
  EXPECT_TRUE(CheckLayout(Mbr()).empty());
}

TEST(LayoutCheck, OverlappingPartitionsAreNamed) {
  DiskModel d = Gpt();
  d.partitions[3].start = d.partitions[2].End() - Sectors{kMiBSectors};  // 1 MiB inside Windows
  auto problems = CheckLayout(d);
  ASSERT_EQ(Rules(d), R{"overlap"});
  EXPECT_NE(problems[0].message.find("partition 3"), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find("partition 4"), std::string::npos) << problems[0].message;
}

TEST(LayoutCheck, AnEntryInsideAnotherOverlaps) {
  DiskModel d = Gpt();
  d.partitions.push_back(Part(5, 200, 10, types::kGptBasicData));  // inside Windows
  EXPECT_EQ(Rules(d), R{"overlap"});
}

// Found by the disk_model fuzz target: a table whose 400 entries all overlap made 79,800 messages,
// and checking it took most of the target's time. The first pairs are named, the rest counted.
TEST(LayoutCheck, ATableWhereEveryPairOverlapsNamesTheFirstPairsAndCountsTheRest) {
  DiskModel d = Gpt();
  d.partitions.clear();
  for (uint32_t n = 1; n <= 400; ++n)
    d.partitions.push_back(Part(n, 200, 10, types::kGptBasicData));
  auto problems = CheckLayout(d);
  ASSERT_EQ(problems.size(), 17u);
  for (const auto& p : problems) EXPECT_EQ(p.rule, "overlap");
  EXPECT_NE(problems[0].message.find("partition 1"), std::string::npos) << problems[0].message;
  EXPECT_EQ(problems.back().message, "and 79784 more pairs of partitions overlap");
}

TEST(LayoutCheck, PartitionPastTheEndOfTheDisk) {
  DiskModel d = Gpt();
  d.partitions[3].size = Sectors{d.total.count};  // ends far beyond the disk
  EXPECT_EQ(Rules(d), R{"past-end"});
  // A start near 2^64 must not wrap start + size round to a small number.
  d.partitions[3].start = Lba{~0ULL - 10};
  d.partitions[3].size = Sectors{100};
  EXPECT_EQ(Rules(d), R{"past-end"});
}

TEST(LayoutCheck, PartitionOverTheGptHeadersOrEntries) {
  DiskModel d = Gpt();
  d.partitions[0].start = Lba{2};  // over the entry array
  EXPECT_EQ(Rules(d), R{"outside-usable"});
  d = Gpt();
  d.partitions[3].size = Sectors{d.last_usable.value + 10 - d.partitions[3].start.value};
  EXPECT_EQ(Rules(d), R{"outside-usable"});  // over the backup entries, not past the disk
}

TEST(LayoutCheck, ZeroLengthEntry) {
  DiskModel d = Gpt();
  d.partitions.push_back(Part(5, 3400, 0, types::kGptBasicData));
  EXPECT_EQ(Rules(d), R{"zero-length"});
}

TEST(LayoutCheck, MbrPartitionAtSectorZero) {
  DiskModel d = Mbr();
  d.partitions[0].start = Lba{0};
  EXPECT_EQ(Rules(d), R{"outside-usable"});
}

TEST(LayoutCheck, LogicalPartitionsBelongInsideTheExtendedOne) {
  DiskModel d = Mbr();
  Partition extended = Part(4, 3400, 400, "0x05");
  extended.container = true;
  d.partitions.push_back(extended);
  Partition logical = Part(5, 3401, 100, types::kMbrNtfs);
  d.partitions.push_back(logical);
  EXPECT_TRUE(CheckLayout(d).empty()) << "the container holds its logical partitions";
  d.partitions.back().start = Lba{3900 * kMiBSectors};  // beyond the extended partition
  EXPECT_EQ(Rules(d), R{"logical-outside-extended"});
}

TEST(LayoutCheck, HybridMbrBesideAGpt) {
  DiskModel d = Gpt();
  d.mbr_entries.push_back({2, 0x07, d.partitions[2].start, d.partitions[2].size});
  auto problems = CheckLayout(d);
  ASSERT_EQ(Rules(d), R{"hybrid-mbr"});
  EXPECT_NE(problems[0].message.find("entry 2 (type 0x07"), std::string::npos)
      << problems[0].message;
}

TEST(LayoutCheck, AGptLibfdiskCouldNotRead) {
  DiskModel d = Mbr();
  d.unreadable_gpt = "disk.img holds a GPT written for 512-byte sectors";
  EXPECT_EQ(Rules(d), R{"unreadable-gpt"});
}

TEST(LayoutCheck, ThePlannerRefusesBeforeAnyArithmetic) {
  // Before this check the planner computed a move to sector 18446744073709419496.
  DiskModel d = Gpt();
  d.total = Sectors{3200 * kMiBSectors};  // no free space: Windows must shrink and WinRE move
  d.last_usable = Lba{d.total.count - 34};
  d.partitions[3].start = d.partitions[2].End() - Sectors{kMiBSectors};
  d.partitions[3].size = Sectors{d.last_usable.value - d.partitions[3].start.value};
  auto plan = MakePlan(d, {});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().reason, RefusalReason::kUnsafeTable);
  EXPECT_NE(plan.error().message.find("disk.img"), std::string::npos);
  EXPECT_FALSE(RequireSafeLayout(d).has_value());
  EXPECT_EQ(RequireSafeLayout(d).error().code, ErrorCode::kRefused);
}

// Found by disk_model_fuzz: an MBR whose entries (and extended chain) lie a terabyte past an 8 MiB
// disk. The layout check refuses it; the free space reported stays on the disk (libfdisk counted a
// terabyte of gap past it); nothing can be planned. (libfdisk itself loses 1,536 bytes reading
// this table, as `valgrind sfdisk --dump` shows too: fuzz/lsan-suppressions.txt.)
// The 8 MiB disk fuzz/disk_model_fuzz.cpp makes of input `name` (tests/fixtures/fuzz): its first
// half at the start of the disk, the rest at its end.
std::string DiskFromFuzzInput(const test::TempDir& dir, const std::string& name) {
  const std::string disk = dir / "disk.img";
  auto r = test::Sh(
      "f=" + test::Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/fuzz/" + name) +
      "; n=$(stat -c %s \"$f\"); h=$(( (n + 1) / 2 )); truncate -s 8M " + test::Quote(disk) +
      " && dd if=\"$f\" of=" + test::Quote(disk) +
      " bs=1 count=$h conv=notrunc status=none && tail -c +$((h + 1)) \"$f\" | dd of=" +
      test::Quote(disk) + " bs=1 seek=$(( 8388608 - n + h )) conv=notrunc status=none");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return disk;
}

TEST(LayoutCheck, AnMbrWhoseEntriesLieFarPastTheDiskIsRefusedAndItsFreeSpaceStaysOnIt) {
  test::TempDir dir;
  const std::string disk = DiskFromFuzzInput(dir, "mbr-extended-chain-past-the-disk");
  auto handle = DiskHandle::Open(disk, DiskHandle::Mode::kReadOnly);
  ASSERT_TRUE(handle) << handle.error().message;
  auto model = ReadDisk(*handle, {.look_inside_ntfs = false});
  ASSERT_TRUE(model) << model.error().message;
  for (const auto& f : model->free) {
    EXPECT_GE(f.start.value, model->first_usable.value);
    EXPECT_LE(f.start.value + f.size.count, model->last_usable.value + 1);
  }
  // What disk plan, disk prepare and apply refuse with (unsafe-partition-table) before planning.
  const auto problems = CheckLayout(*model);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].message.find("past the end of the disk"), std::string::npos)
      << problems[0].message;
  ClassifyPartitions(*model);
  PlanPolicy policy;
  policy.recovery_size = Bytes{64 << 20};
  EXPECT_FALSE(MakePlan(*model, policy));
}

// Found by disk_model_fuzz: an MBR whose extended partition (active, at sector 63487) cannot be
// read, beside a second extended container and entries past the disk. libfdisk loses the 512-byte
// sector buffer of the unreadable entry (`valgrind sfdisk --dump` too; fuzz/lsan-suppressions.txt);
// Lifeboat reads the rest, names every unsafe entry, and plans nothing.
TEST(LayoutCheck, AnMbrWithAnUnreadableExtendedTableIsReadAndRefused) {
  test::TempDir dir;
  const std::string disk = DiskFromFuzzInput(dir, "mbr-extended-table-unreadable");
  auto handle = DiskHandle::Open(disk, DiskHandle::Mode::kReadOnly);
  ASSERT_TRUE(handle) << handle.error().message;
  auto model = ReadDisk(*handle, {.look_inside_ntfs = false});
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(model->partitions.size(), 4u);
  const auto problems = CheckLayout(*model);
  ASSERT_GE(problems.size(), 4u);
  std::string all;
  for (const auto& p : problems) all += p.message + "\n";
  EXPECT_NE(all.find("partition 1 (sectors 63487-65534) runs past the end of the disk"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("overlap"), std::string::npos) << all;
  ClassifyPartitions(*model);
  PlanPolicy policy;
  policy.recovery_size = Bytes{64 << 20};
  EXPECT_FALSE(MakePlan(*model, policy));
}

}  // namespace
}  // namespace lifeboat::partition
