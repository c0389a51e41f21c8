// `winre show` and `winre grow` on real Windows-like disk images whose WinRE holds files, checked
// with tools Lifeboat did not write: sfdisk (layout, GUID, type, attributes, verify), ntfs-3g
// (every file's SHA-256, on Windows and on WinRE), ntfsinfo (WinRE's free clusters).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/files.h"
#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Fills WinRE (at `offset`, `size` bytes) with files, as Windows leaves it: Winre.wim, of which
// `wim_mb` MiB, and ReAgent's folder.
void FillWinRe(const std::string& disk, uint64_t offset, uint64_t size, int wim_mb) {
  auto r =
      Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(offset) + " --sizelimit " +
         std::to_string(size) + " " + Quote(disk) +
         "); m=$(mktemp -d); ntfs-3g \"$l\" \"$m\"; mkdir -p \"$m/Recovery/WindowsRE\"; "
         "head -c " +
         std::to_string(wim_mb) +
         "M /dev/urandom > \"$m/Recovery/WindowsRE/Winre.wim\"; "
         "printf 'boot.sdi' > \"$m/Recovery/WindowsRE/boot.sdi\"; umount \"$m\"; rmdir \"$m\"; "
         "losetup -d \"$l\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// ReAgent.xml as reagentc writes it, naming WinRE at `offset` on the disk `guid` (GPT: the disk's
// GUID; MBR: zeros), and an element of another disk at the same offset.
std::string ReAgentXml(uint64_t offset, const std::string& guid) {
  return "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\r\n<WindowsRE "
         "version=\"2.0\">\r\n  <WinreBCD id=\"{3c32c4e7-f36e-11e2-8548-986c4e43b52a}\"/>\r\n  "
         "<WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"" +
         std::to_string(offset) + "\" guid=\"{" + guid +
         "}\"/>\r\n  <ImageLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"" +
         std::to_string(offset) +
         "\" guid=\"{46d52120-8158-4242-ad3c-0a3e919752b1}\"/>\r\n  <InstallState "
         "state=\"1\"/>\r\n</WindowsRE>\r\n";
}

// ReAgentXml(from, guid) after WinRE moved to `to`: this disk's element names `to`, the other
// disk's element is left alone.
std::string MovedReAgentXml(uint64_t from, uint64_t to, const std::string& guid) {
  std::string xml = ReAgentXml(from, guid);
  xml.replace(xml.find(std::to_string(from)), std::to_string(from).size(), std::to_string(to));
  return xml;
}

// Writes `text` as Windows' ReAgent.xml on the Windows volume at `offset`.
void WriteReAgentXml(const std::string& disk, uint64_t offset, uint64_t size,
                     const std::string& text, const std::string& dir) {
  { std::ofstream(dir + "/ReAgent.xml", std::ios::binary) << text; }
  auto r =
      Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(offset) + " --sizelimit " +
         std::to_string(size) + " " + Quote(disk) +
         "); m=$(mktemp -d); ntfs-3g \"$l\" \"$m\"; mkdir -p \"$m/Windows/System32/Recovery\"; "
         "cp " +
         Quote(dir + "/ReAgent.xml") +
         " \"$m/Windows/System32/Recovery/\"; umount \"$m\"; rmdir \"$m\"; losetup -d \"$l\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// A device element's hex naming an MBR partition at `offset`: the offset, 8 zero bytes, and the
// partition style (1: MBR), as BCD-FORMAT.md lays them out.
std::string MbrPartitionHex(uint64_t offset) {
  std::string hex;
  char byte[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", static_cast<unsigned>((offset >> (8 * i)) & 0xff));
    hex += byte;
  }
  return hex + "0000000000000000" + "0000000001000000";
}
std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string hex;
  char byte[3];
  for (uint8_t b : bytes) {
    std::snprintf(byte, sizeof byte, "%02x", b);
    hex += byte;
  }
  return hex;
}

// The free bytes of the NTFS volume at `offset`, as ntfsinfo counts them.
uint64_t NtfsFree(const std::string& disk, uint64_t offset, uint64_t size) {
  auto r = Sh("set -e; l=$(losetup --find --show --read-only --offset " + std::to_string(offset) +
              " --sizelimit " + std::to_string(size) + " " + Quote(disk) +
              "); ntfsinfo -m -f \"$l\" | awk '/Cluster Size:/ {c=$3} /Free Clusters:/ {f=$3} "
              "END {printf \"%.0f\", c * f}'; losetup -d \"$l\"");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? std::stoull(r.out) : 0;
}

class WinReTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Disk() const { return dir_ / "disk.img"; }
  std::string State() const { return dir_ / "state"; }
  bool Gpt() const { return GetParam() == "gpt"; }
  // The disk with no room behind WinRE (its end is the disk's usable end): growing takes room
  // from Windows.
  void MakeFullDisk() {
    MakeWindowsDisk(Disk(), "--label " + GetParam() + " --disk-size " +
                                (Gpt() ? "1918M" : "1901M") +
                                " --windows-size 1600M --winre-size 200M --fill-mb 300");
  }
  TempDir dir_;
};

TEST_P(WinReTest, GrowTakesRoomFromWindowsAndKeepsEveryFileAndWinResIdentity) {
  MakeFullDisk();
  const SfTable before = Sfdisk(Disk());
  const SfPartition win = before.partitions[before.partitions.size() - 2];
  const SfPartition winre = before.partitions.back();
  ASSERT_NO_FATAL_FAILURE(FillWinRe(Disk(), winre.start * 512, winre.size * 512, 180));
  const std::string winre_files = NtfsFileSums(Disk(), winre.start * 512, winre.size * 512);
  ASSERT_NE(winre_files.find("Recovery/WindowsRE/Winre.wim"), std::string::npos) << winre_files;
  ASSERT_LT(NtfsFree(Disk(), winre.start * 512, winre.size * 512), 250'000'000u);
  const std::string disk_guid = Gpt() ? before.id : "00000000-0000-0000-0000-000000000000";
  ASSERT_NO_FATAL_FAILURE(WriteReAgentXml(Disk(), win.start * 512, win.size * 512,
                                          ReAgentXml(winre.start * 512, disk_guid), dir_.path()));
  const std::string windows_files_with_reagent =
      NtfsFileSums(Disk(), win.start * 512, win.size * 512);

  // show: what it lacks.
  auto show = Agent({"winre", "show", Disk(), "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(JsonShapeProblem(show.out, "winre_show"), "");
  auto json = Json(show.out);
  EXPECT_EQ(json->getObject("winre")->getValue<uint64_t>("free_bytes"),
            NtfsFree(Disk(), winre.start * 512, winre.size * 512));
  EXPECT_GT(json->getValue<uint64_t>("missing_bytes"), 0u);
  // The inventory the agent sends the controller says the same.
  auto inventory = Agent({"inventory", Disk(), "--state-dir", State()});
  ASSERT_EQ(inventory.exit_code, 0) << inventory.err;
  EXPECT_EQ(JsonShapeProblem(inventory.out, "inventory"), "");
  EXPECT_EQ(Json(inventory.out)->getValue<uint64_t>("winre_size_bytes"), winre.size * 512);
  EXPECT_EQ(Json(inventory.out)->getValue<uint64_t>("winre_free_bytes"),
            NtfsFree(Disk(), winre.start * 512, winre.size * 512));
  auto text = Agent({"winre", "show", Disk()});
  EXPECT_NE(text.out.find("short; `lifeboat-agent winre grow"), std::string::npos) << text.out;

  // The plan and --dry-run change nothing.
  const std::string untouched = ImageChecksum(Disk());
  auto dry = Agent({"winre", "grow", Disk(), "--free", "250MB", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(JsonShapeProblem(dry.out, "disk_plan"), "");
  EXPECT_NE(dry.out.find("\"grow-ntfs\""), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("\"move-partition\""), std::string::npos) << dry.out;
  EXPECT_EQ(ImageChecksum(Disk()), untouched);

  auto grown =
      Agent({"winre", "grow", Disk(), "--free", "250MB", "--state-dir", State(), "--json"});
  ASSERT_EQ(grown.exit_code, 0) << grown.out << grown.err;
  EXPECT_EQ(JsonShapeProblem(grown.out, "disk_prepare"), "");
  EXPECT_NE(grown.out.find("\"result\": \"grown\""), std::string::npos) << grown.out;

  auto verify = Sh("sfdisk --verify " + Quote(Disk()));
  EXPECT_NE(verify.out.find("No errors detected"), std::string::npos) << verify.out << verify.err;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), before.partitions.size());
  EXPECT_EQ(after.id, before.id);
  const SfPartition win_after = after.partitions[after.partitions.size() - 2];
  const SfPartition winre_after = after.partitions.back();
  // WinRE: the same GUID, type and attributes, moved down by what Windows gave, grown by as
  // much, its end where it was.
  EXPECT_EQ(winre_after.uuid, winre.uuid);
  EXPECT_EQ(winre_after.type, winre.type);
  EXPECT_EQ(winre_after.attrs, winre.attrs);
  EXPECT_EQ(win_after.start, win.start);
  EXPECT_EQ(win_after.start + win_after.size, winre_after.start);
  EXPECT_EQ(winre.start - winre_after.start, winre_after.size - winre.size);
  EXPECT_EQ(winre_after.start + winre_after.size, winre.start + winre.size);
  EXPECT_EQ(winre_after.start % 2048, 0u);
  // Every file of both volumes, byte for byte; WinRE's free space as asked.
  EXPECT_EQ(NtfsFileSums(Disk(), winre_after.start * 512, winre_after.size * 512), winre_files);
  // Windows: every file but ReAgent.xml as it was; ReAgent.xml names WinRE's new place, and only
  // that changed in it.
  const std::string reagent = dir_ / "ReAgent.after.xml";
  ASSERT_TRUE(NtfsCat(Disk(), win_after.start * 512, win_after.size * 512,
                      "/Windows/System32/Recovery/ReAgent.xml", reagent));
  EXPECT_EQ(ReadTextFile(reagent).value_or(""),
            MovedReAgentXml(winre.start * 512, winre_after.start * 512, disk_guid));
  auto without_reagent = [](const std::string& sums) {
    std::string kept;
    std::istringstream lines(sums);
    for (std::string line; std::getline(lines, line);)
      if (line.find("ReAgent.xml") == std::string::npos) kept += line + "\n";
    return kept;
  };
  const std::string windows_after =
      NtfsFileSums(Disk(), win_after.start * 512, win_after.size * 512);
  ASSERT_GT(windows_after.size(), 10000u);
  EXPECT_EQ(without_reagent(windows_after), without_reagent(windows_files_with_reagent));
  // MBR: Windows' recovery entry and its RAM disk options name WinRE's new offset (read with
  // hivexsh); GPT stores name it by its GUID, which did not change.
  if (!Gpt()) {
    const std::string store = dir_ / "BCD";
    ASSERT_TRUE(CopyStoreOut(Disk(), store));
    for (const auto& [object, element] : std::vector<std::pair<std::string, std::string>>{
             {"{3c32c4e7-f36e-11e2-8548-986c4e43b52a}", "11000001"},
             {"{3c32c4e7-f36e-11e2-8548-986c4e43b52a}", "21000001"},
             {"{3c32c4e8-f36e-11e2-8548-986c4e43b52a}", "31000003"}}) {
      const std::string hex = Hex(HexBytes(ElementValue(store, object, element)));
      EXPECT_NE(hex.find(MbrPartitionHex(winre_after.start * 512)), std::string::npos)
          << object << " " << element << ": " << hex;
      EXPECT_EQ(hex.find(MbrPartitionHex(winre.start * 512)), std::string::npos)
          << object << " " << element;
    }
  }
  EXPECT_GE(NtfsFree(Disk(), winre_after.start * 512, winre_after.size * 512), 250'000'000u);

  // Again: nothing to do, nothing changed.
  const std::string done = ImageChecksum(Disk());
  auto again = Agent({"winre", "grow", Disk(), "--free", "250MB", "--state-dir", State()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
  EXPECT_EQ(ImageChecksum(Disk()), done);
}

TEST_P(WinReTest, GrowsInPlaceIntoFreeSpaceBehindIt) {
  MakeWindowsDisk(Disk(),
                  "--label " + GetParam() +
                      " --disk-size 2G --windows-size 1000M --winre-size 200M --fill-mb 50");
  const SfTable before = Sfdisk(Disk());
  const SfPartition win = before.partitions[before.partitions.size() - 2];
  const SfPartition winre = before.partitions.back();
  ASSERT_NO_FATAL_FAILURE(FillWinRe(Disk(), winre.start * 512, winre.size * 512, 100));
  const std::string winre_files = NtfsFileSums(Disk(), winre.start * 512, winre.size * 512);
  const std::string windows_sum = Sha256(Disk(), win.start * 512, win.size * 512);
  auto grown = Agent({"winre", "grow", Disk(), "--size", "700M", "--state-dir", State()});
  ASSERT_EQ(grown.exit_code, 0) << grown.out << grown.err;
  const SfPartition winre_after = Sfdisk(Disk()).partitions.back();
  EXPECT_EQ(winre_after.start, winre.start);
  EXPECT_EQ(winre_after.size * 512, 700 * kMiB);
  EXPECT_EQ(winre_after.uuid, winre.uuid);
  EXPECT_EQ(Sha256(Disk(), win.start * 512, win.size * 512), windows_sum) << "Windows untouched";
  EXPECT_EQ(NtfsFileSums(Disk(), winre_after.start * 512, winre_after.size * 512), winre_files);
  EXPECT_GT(NtfsFree(Disk(), winre_after.start * 512, winre_after.size * 512), 550 * kMiB);
}

// disk prepare (and so apply) moves WinRE down too: ReAgent.xml follows it there as well.
TEST_P(WinReTest, DiskPrepareMovingWinReUpdatesReAgentXml) {
  MakeFullDisk();
  const SfTable before = Sfdisk(Disk());
  const SfPartition win = before.partitions[before.partitions.size() - 2];
  const SfPartition winre = before.partitions.back();
  const std::string disk_guid = Gpt() ? before.id : "00000000-0000-0000-0000-000000000000";
  ASSERT_NO_FATAL_FAILURE(WriteReAgentXml(Disk(), win.start * 512, win.size * 512,
                                          ReAgentXml(winre.start * 512, disk_guid), dir_.path()));
  auto prepared = Agent({"disk", "prepare", Disk(), "--size", "200M", "--shrink-margin", "100M",
                         "--state-dir", State(), "--json"});
  ASSERT_EQ(prepared.exit_code, 0) << prepared.out << prepared.err;
  EXPECT_NE(prepared.out.find("\"retarget-winre\""), std::string::npos) << prepared.out;
  const SfTable after = Sfdisk(Disk());
  const SfPartition win_after = after.partitions[after.partitions.size() - 3];
  const SfPartition winre_after = after.partitions[after.partitions.size() - 2];
  ASSERT_EQ(winre_after.uuid, winre.uuid);
  ASSERT_LT(winre_after.start, winre.start);
  const std::string reagent = dir_ / "ReAgent.prepared.xml";
  ASSERT_TRUE(NtfsCat(Disk(), win_after.start * 512, win_after.size * 512,
                      "/Windows/System32/Recovery/ReAgent.xml", reagent));
  EXPECT_EQ(ReadTextFile(reagent).value_or(""),
            MovedReAgentXml(winre.start * 512, winre_after.start * 512, disk_guid));
}

// Refusals need no room: small disks keep the whole-image checksums quick.
constexpr const char* kSmallDisk = " --disk-size 1G --windows-size 700M --fill-mb 20";

TEST_P(WinReTest, RefusalsChangeNothing) {
  struct Case {
    std::string variant, args, reason;
  };
  const std::vector<Case> cases = {
      {"bitlocker", "--free 250MB", "bitlocker"},
      {"", "--size 100G", "not-enough-space"},
      {"", "--free 250MB --size 1G", ""},  // a usage error
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.variant + " " + c.args);
    MakeWindowsDisk(Disk(), "--label " + GetParam() + kSmallDisk +
                                (c.variant.empty() ? "" : " --variant " + c.variant));
    const std::string before = ImageChecksum(Disk());
    auto r = Sh(Quote(LIFEBOAT_AGENT) + " winre grow " + Quote(Disk()) + " " + c.args +
                " --json --state-dir " + Quote(State()));
    EXPECT_EQ(r.exit_code, c.reason.empty() ? 2 : 3) << r.out << r.err;
    if (!c.reason.empty()) {
      EXPECT_NE(r.out.find("\"reason\": \"" + c.reason), std::string::npos) << r.out;
    }
    EXPECT_EQ(ImageChecksum(Disk()), before);
  }
  // No WinRE at all.
  MakeWindowsDisk(Disk(), "--label " + GetParam() + kSmallDisk + " --winre-size 0");
  auto none = Agent({"winre", "grow", Disk(), "--free", "250MB", "--state-dir", State(), "--json"});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_NE(none.out.find("\"reason\": \"no-winre\""), std::string::npos) << none.out;
  auto show = Agent({"winre", "show", Disk(), "--json"});
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_EQ(JsonShapeProblem(show.out, "winre_show"), "");
  EXPECT_NE(show.out.find("\"winre\": null"), std::string::npos) << show.out;
}

INSTANTIATE_TEST_SUITE_P(Labels, WinReTest, ::testing::Values("gpt", "mbr"));

}  // namespace
}  // namespace lifeboat::test
