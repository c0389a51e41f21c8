// Kill -9 of `winre grow` at its step boundaries, inside the move's copy and right before each
// ntfsresize; the next run must converge to the same disk as an uninterrupted run: the same
// layout, every file of WinRE and Windows the same, ReAgent.xml and the BCD store (MBR: they name
// WinRE by offset) following WinRE exactly once.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// MBR, no room behind WinRE: Windows gives the room, WinRE moves, the BCD follows.
const char* kFixture =
    "--label mbr --disk-size 1301M --windows-size 1000M --winre-size 200M --fill-mb 60";

class WinReCrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    MakeWindowsDisk(Pristine(), kFixture);
    const SfTable table = Sfdisk(Pristine());
    const SfPartition windows = table.partitions[1], winre = table.partitions[2];
    // WinRE nearly full; Windows' ReAgent.xml naming it.
    auto filled =
        Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(winre.start * 512) +
           " --sizelimit " + std::to_string(winre.size * 512) + " " + Quote(Pristine()) +
           "); m=$(mktemp -d); ntfs-3g \"$l\" \"$m\"; mkdir -p \"$m/Recovery/WindowsRE\"; "
           "head -c 180M /dev/urandom > \"$m/Recovery/WindowsRE/Winre.wim\"; umount \"$m\"; "
           "losetup -d \"$l\"; l=$(losetup --find --show --offset " +
           std::to_string(windows.start * 512) + " --sizelimit " +
           std::to_string(windows.size * 512) + " " + Quote(Pristine()) +
           "); ntfs-3g \"$l\" \"$m\"; mkdir -p \"$m/Windows/System32/Recovery\"; printf '%s' "
           "'<WindowsRE version=\"2.0\"><WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" "
           "offset=\"" +
           std::to_string(winre.start * 512) +
           "\" guid=\"{00000000-0000-0000-0000-000000000000}\"/><InstallState state=\"1\"/>"
           "</WindowsRE>' > \"$m/Windows/System32/Recovery/ReAgent.xml\"; umount \"$m\"; "
           "rmdir \"$m\"; losetup -d \"$l\"");
    ASSERT_EQ(filled.exit_code, 0) << filled.err;
    const std::string reference = *dir_ / "reference.img";
    ASSERT_EQ(Sh("cp --sparse=always " + Quote(Pristine()) + " " + Quote(reference)).exit_code, 0);
    auto r = Grow(reference, *dir_ / "reference-state");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    expected_ = new std::string(Everything(reference));
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete dir_;
  }
  static std::string Pristine() { return *dir_ / "pristine.img"; }
  static CommandResult Grow(const std::string& disk, const std::string& state,
                            const std::string& env = "") {
    return Agent(
        {"winre", "grow", disk, "--free", "250MB", "--shrink-margin", "100M", "--state-dir", state},
        env);
  }
  // What must come out the same: the table (sfdisk's dump without the device names), every
  // file of both volumes, ReAgent.xml, and the BCD store as hivexml decodes it.
  static std::string Everything(const std::string& disk) {
    const SfTable t = Sfdisk(disk);
    std::string all = t.label + " " + t.id + "\n";
    for (const auto& p : t.partitions)
      all += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.type + "\n";
    const SfPartition& windows = t.partitions[1];
    const SfPartition& winre = t.partitions[2];
    all += NtfsFileSums(disk, winre.start * 512, winre.size * 512);
    all += NtfsFileSums(disk, windows.start * 512, windows.size * 512);
    const std::string xml = disk + ".ReAgent.xml", store = disk + ".BCD";
    EXPECT_TRUE(NtfsCat(disk, windows.start * 512, windows.size * 512,
                        "/Windows/System32/Recovery/ReAgent.xml", xml));
    std::ifstream in(xml);
    all += std::string(std::istreambuf_iterator<char>(in), {}) + "\n";
    EXPECT_TRUE(CopyStoreOut(disk, store));
    return all + NormalizedStore(store);
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string* expected_ = nullptr;
};

TEST_P(WinReCrashTest, KilledRunResumesToTheSameDisk) {
  std::string name = GetParam();
  for (char& c : name) c = c == ':' ? '_' : c;
  const std::string disk = *dir_ / (name + ".img");
  const std::string state = *dir_ / (name + "-state");
  ASSERT_EQ(Sh("cp --sparse=always " + Quote(Pristine()) + " " + Quote(disk)).exit_code, 0);
  auto killed = Grow(disk, state, "LIFEBOAT_TEST_CRASH_AT=" + GetParam());
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  auto resumed = Grow(disk, state);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("resumed"), std::string::npos) << resumed.out;
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  EXPECT_EQ(Everything(disk), *expected_);
  auto again = Grow(disk, state);
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out << again.err;
}

// Killed after the store's backup, its write then cut short (the store on System Reserved left
// half written): the resumed retarget puts the store back from the journal and edits it again.
TEST_F(WinReCrashTest, AStoreWriteCutShortIsPutBackFromTheJournal) {
  const std::string disk = *dir_ / "torn.img";
  const std::string state = *dir_ / "torn-state";
  ASSERT_EQ(Sh("cp --sparse=always " + Quote(Pristine()) + " " + Quote(disk)).exit_code, 0);
  auto killed = Grow(disk, state, "LIFEBOAT_TEST_CRASH_AT=retarget-winre:bcd:backed-up");
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  const SfPartition reserved = Sfdisk(disk).partitions[0];
  auto torn =
      Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(reserved.start * 512) +
         " --sizelimit " + std::to_string(reserved.size * 512) + " " + Quote(disk) +
         "); m=$(mktemp -d); ntfs-3g \"$l\" \"$m\"; truncate -s 4096 \"$m/Boot/BCD\"; "
         "umount \"$m\"; rmdir \"$m\"; losetup -d \"$l\"");
  ASSERT_EQ(torn.exit_code, 0) << torn.err;
  ASSERT_NE(Agent({"bcd", "show", disk}).exit_code, 0) << "the store is unreadable now";
  auto resumed = Grow(disk, state);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Everything(disk), *expected_);
}

// Steps: 0 backup, 1 shrink Windows, 2 resize Windows, 3 move WinRE, 4 retarget (ReAgent.xml,
// BCD), 5 resize WinRE, 6 grow its NTFS.
INSTANTIATE_TEST_SUITE_P(Points, WinReCrashTest,
                         ::testing::Values("1:launched", "3:chunk:1", "4:before", "4:after",
                                           "5:after", "6:launched"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) c = c == ':' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace lifeboat::test
