// `disk prepare` on real Windows-like disk images, checked with tools Lifeboat did not write:
// sfdisk (layout, verify), ntfs-3g (file checksums, labels), sha256sum (untouched byte ranges).
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

constexpr const char* kRecoveryGuid = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC";

uint64_t AlignedAfter(const SfPartition& p) { return (p.start + p.size + 2047) / 2048 * 2048; }

class PrepareTest : public ::testing::Test {
 protected:
  std::string Disk() const { return dir_ / "disk.img"; }
  std::string State() const { return dir_ / "state"; }
  CommandResult Prepare(const std::string& disk, const std::string& size = "1G") {
    return Agent({"disk", "prepare", disk, "--size", size, "--state-dir", State()});
  }
  TempDir dir_;
};

TEST_F(PrepareTest, GptWithWinReShrinksWindowsMovesWinReAndAddsLifeboat) {
  MakeWindowsDisk(
      Disk(), "--label gpt --disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 300");
  const SfTable before = Sfdisk(Disk());
  ASSERT_EQ(before.partitions.size(), 4u);
  const auto& esp = before.partitions[0];
  const auto& msr = before.partitions[1];
  const auto& win = before.partitions[2];
  const auto& winre = before.partitions[3];
  const std::string gap = Sha256(Disk(), 34 * 512, (esp.start - 34) * 512);
  const std::string esp_sum = Sha256(Disk(), esp.start * 512, esp.size * 512);
  const std::string msr_sum = Sha256(Disk(), msr.start * 512, msr.size * 512);
  const std::string winre_sum = Sha256(Disk(), winre.start * 512, winre.size * 512);
  const std::string files = NtfsFileSums(Disk(), win.start * 512, win.size * 512);
  ASSERT_GT(files.size(), 10000u) << files;

  const std::string untouched = ImageChecksum(Disk());
  auto plan = Agent({"disk", "plan", Disk(), "--size", "1G", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("\"move-partition\""), std::string::npos) << plan.out;
  auto dry =
      Agent({"disk", "prepare", Disk(), "--size", "1G", "--dry-run", "--state-dir", State()});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(ImageChecksum(Disk()), untouched) << "plan and --dry-run change nothing";

  auto r = Prepare(Disk());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  auto verify = Sh("sfdisk --verify " + Quote(Disk()));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("No errors detected"), std::string::npos) << verify.out;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), 5u);
  EXPECT_EQ(after.id, before.id);
  const std::optional<SfPartition> lifeboat = Named(after, "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());
  EXPECT_EQ(lifeboat->type, kRecoveryGuid);
  EXPECT_EQ(lifeboat->attrs, "RequiredPartition GUID:63");
  EXPECT_EQ(lifeboat->size * 512, 1ULL << 30);
  EXPECT_EQ(lifeboat->start % 2048, 0u);
  // WinRE: same GUID, same size, moved down by exactly what Windows gave, directly before Lifeboat.
  const std::optional<SfPartition> moved = Named(after, "Windows RE tools");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->uuid, winre.uuid);
  EXPECT_EQ(moved->size, winre.size);
  const SfPartition& win_after = after.partitions[2];
  EXPECT_EQ(win_after.uuid, win.uuid);
  EXPECT_EQ(win.size - win_after.size, winre.start - moved->start);
  EXPECT_EQ(win_after.start + win_after.size, moved->start);
  EXPECT_EQ(moved->start + moved->size, lifeboat->start);
  // Bytes and files that must not change.
  EXPECT_EQ(Sha256(Disk(), 34 * 512, (esp.start - 34) * 512), gap);
  EXPECT_EQ(Sha256(Disk(), esp.start * 512, esp.size * 512), esp_sum);
  EXPECT_EQ(Sha256(Disk(), msr.start * 512, msr.size * 512), msr_sum);
  EXPECT_EQ(Sha256(Disk(), moved->start * 512, moved->size * 512), winre_sum)
      << "WinRE moved intact";
  EXPECT_EQ(NtfsFileSums(Disk(), win_after.start * 512, win_after.size * 512), files);
  EXPECT_EQ(NtfsLabel(Disk(), lifeboat->start * 512, lifeboat->size * 512), "Lifeboat");
  auto esp_listing = Sh("mdir -b -i " + Quote(Disk()) + "@@" + std::to_string(esp.start * 512) +
                        " ::/EFI/Microsoft/Boot");
  EXPECT_NE(esp_listing.out.find("BCD"), std::string::npos) << esp_listing.out << esp_listing.err;
  // The journal kept both GPT copies and sfdisk's dump.
  auto backups = Sh(
      "sqlite3 " + Quote(State() + "/journal.db") +
      " \"SELECT length(head), length(tail), sfdisk_dump LIKE '%label: gpt%' FROM table_backups\"");
  EXPECT_EQ(backups.out, "1048576|16896|1\n") << backups.err;

  // Twice: nothing changes, and it says so.
  const std::string image_sum = ImageChecksum(Disk());
  auto again = Prepare(Disk());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
  EXPECT_EQ(ImageChecksum(Disk()), image_sum);
}

TEST_F(PrepareTest, MbrBiosMovesWinReAndRecordsTheOffsetChange) {
  MakeWindowsDisk(
      Disk(), "--label mbr --disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 200");
  const SfTable before = Sfdisk(Disk());
  ASSERT_EQ(before.partitions.size(), 3u);
  const auto& sysres = before.partitions[0];
  const auto& win = before.partitions[1];
  const auto& winre = before.partitions[2];
  // System Reserved's files but the BCD store (and its logs), which follows WinRE.
  auto but_bcd = [&](uint64_t start, uint64_t size) {
    std::string kept;
    std::istringstream lines(NtfsFileSums(Disk(), start, size));
    for (std::string line; std::getline(lines, line);)
      if (line.find("Boot/BCD") == std::string::npos) kept += line + "\n";
    return kept;
  };
  const std::string sysres_files = but_bcd(sysres.start * 512, sysres.size * 512);
  const std::string winre_sum = Sha256(Disk(), winre.start * 512, winre.size * 512);
  const std::string files = NtfsFileSums(Disk(), win.start * 512, win.size * 512);

  auto plan = Agent({"disk", "plan", Disk(), "--size", "1G", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("byte offset"), std::string::npos)
      << "MBR plans say which BCD offsets change";

  auto r = Prepare(Disk());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), 4u);
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.partitions[3].type, "27");
  EXPECT_EQ(after.partitions[3].size * 512, 1ULL << 30);
  EXPECT_TRUE(after.partitions[0].bootable);
  EXPECT_EQ(after.partitions[2].type, "27");
  EXPECT_EQ(after.partitions[2].size, winre.size);
  EXPECT_EQ(Sha256(Disk(), after.partitions[2].start * 512, winre.size * 512), winre_sum);
  EXPECT_EQ(but_bcd(sysres.start * 512, sysres.size * 512), sysres_files);
  // Windows' recovery entry (the fixture's WinRE loader) names WinRE's new byte offset (hivexsh).
  const std::string store = dir_ / "after.bcd";
  ASSERT_TRUE(CopyStoreOut(Disk(), store));
  const auto device =
      HexBytes(ElementValue(store, "{3c32c4e7-f36e-11e2-8548-986c4e43b52a}", "11000001"));
  ASSERT_GE(device.size(), 0x5cu);
  uint64_t offset = 0;
  for (int i = 0; i < 8; ++i) offset |= uint64_t{device[0x54 + i]} << (8 * i);
  EXPECT_EQ(offset, after.partitions[2].start * 512);
  EXPECT_NE(after.partitions[2].start, winre.start);
  EXPECT_EQ(NtfsFileSums(Disk(), win.start * 512, after.partitions[1].size * 512), files);
  EXPECT_EQ(NtfsLabel(Disk(), after.partitions[3].start * 512, after.partitions[3].size * 512),
            "Lifeboat");
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(Disk())).exit_code, 0);
}

TEST_F(PrepareTest, FreeSpaceIsUsedWithoutTouchingWindows) {
  MakeWindowsDisk(Disk(),
                  "--label gpt --disk-size 4G --windows-size 2000M --winre-size 200M --fill-mb 50");
  const SfTable before = Sfdisk(Disk());
  const auto& win = before.partitions[2];
  const std::string windows_bytes = Sha256(Disk(), win.start * 512, win.size * 512);
  auto r = Prepare(Disk());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("shrink"), std::string::npos) << r.out;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(after.partitions[i].start, before.partitions[i].start);
    EXPECT_EQ(after.partitions[i].size, before.partitions[i].size);
  }
  EXPECT_EQ(after.partitions[4].start, AlignedAfter(before.partitions[3]));
  EXPECT_EQ(Sha256(Disk(), win.start * 512, win.size * 512), windows_bytes);
}

TEST_F(PrepareTest, LoopDeviceOverTheWholeImageTakesTheSamePath) {
  MakeWindowsDisk(
      Disk(), "--label gpt --disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 100");
  const SfTable before = Sfdisk(Disk());
  const auto& win = before.partitions[2];
  const std::string files = NtfsFileSums(Disk(), win.start * 512, win.size * 512);
  auto loop = Sh("losetup --find --show " + Quote(Disk()));
  ASSERT_EQ(loop.exit_code, 0) << loop.err;
  const std::string dev = loop.out.substr(0, loop.out.find('\n'));
  auto show = Agent({"disk", "show", dev, "--json"});
  EXPECT_NE(show.out.find("\"block_device\": true"), std::string::npos) << show.out << show.err;
  auto r = Prepare(dev);
  Sh("losetup -d " + Quote(dev));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), 5u);
  EXPECT_EQ(Named(after, "Windows RE tools").value().uuid, before.partitions[3].uuid);
  EXPECT_EQ(NtfsFileSums(Disk(), win.start * 512, after.partitions[2].size * 512), files);
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(Disk())).exit_code, 0);
}

}  // namespace
}  // namespace lifeboat::test
