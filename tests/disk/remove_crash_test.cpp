// Kill -9 of `remove --reclaim windows` on an MBR/BIOS disk (whose store names WinRE by byte
// offset) at its steps, inside WinRE's move up and right before ntfsresize grows Windows; the next
// run must converge to the same disk as an uninterrupted run: the same table, every file of
// Windows and WinRE the same, and the BCD store as it was before Lifeboat was installed.
#include <gtest/gtest.h>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

class RemoveCrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The installed disk and its journal (which holds the store from before Lifeboat), and the
  // result of an uninterrupted remove of a copy.
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    MakeWindowsDisk(Installed(), "--label mbr --disk-size 2901M --windows-size 2600M --fill-mb 40");
    ASSERT_NO_FATAL_FAILURE(MakeTestWim(*dir_ / "bios.wim", "--variant bios-only"));
    auto applied = Agent({"apply", Installed(), "--image", *dir_ / "bios.wim", "--version", "1.0",
                          "--state-dir", *dir_ / "installed-state"});
    ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    // Windows' next start clears the dirty flag its shrink left.
    const SfPartition windows = Sfdisk(Installed()).partitions[1];
    ASSERT_NO_FATAL_FAILURE(ClearNtfsDirty(Installed(), windows.start * 512, windows.size * 512));
    const std::string reference = Copy("reference");
    auto r = Remove(reference, *dir_ / "reference-state");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    expected_ = new std::string(Everything(reference));
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete dir_;
  }
  static std::string Installed() { return *dir_ / "installed.img"; }
  // A copy of the installed disk and its journal, as NAME.img and NAME-state.
  static std::string Copy(const std::string& name) {
    const std::string disk = *dir_ / (name + ".img");
    EXPECT_EQ(Sh("cp --sparse=always " + Quote(Installed()) + " " + Quote(disk) + " && cp -a " +
                 Quote(*dir_ / "installed-state") + " " + Quote(*dir_ / (name + "-state")))
                  .exit_code,
              0);
    return disk;
  }
  static CommandResult Remove(const std::string& disk, const std::string& state,
                              const std::string& env = "") {
    return Agent({"remove", disk, "--reclaim", "windows", "--state-dir", state}, env);
  }
  static std::string Everything(const std::string& disk) {
    const SfTable t = Sfdisk(disk);
    std::string all = t.label + " " + t.id + "\n";
    for (const auto& p : t.partitions)
      all += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.type + "\n";
    for (const auto& p : t.partitions)
      if (p.type == "7" || p.type == "27") all += NtfsFileSums(disk, p.start * 512, p.size * 512);
    const std::string store = disk + ".BCD";
    EXPECT_TRUE(CopyStoreOut(disk, store));
    return all + NormalizedStore(store);
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string* expected_ = nullptr;
};

TEST_P(RemoveCrashTest, KilledRunFinishesToTheSameDisk) {
  std::string name = GetParam();
  for (char& c : name) c = c == ':' ? '_' : c;
  const std::string disk = Copy(name);
  const std::string state = *dir_ / (name + "-state");
  auto killed = Remove(disk, state, "LIFEBOAT_TEST_CRASH_AT=" + GetParam());
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  auto finished = Remove(disk, state);
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  EXPECT_EQ(Everything(disk), *expected_);
  auto again = Remove(disk, state);
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out << again.err;
}

// The remove's own points, then its partition run's: 0 backup, 1 delete Lifeboat's partition,
// 2 move WinRE up, 3 retarget (ReAgent.xml, BCD), 4 resize Windows, 5 grow its NTFS.
INSTANTIATE_TEST_SUITE_P(Points, RemoveCrashTest,
                         ::testing::Values("remove:edit-bcd:backed-up", "remove:edit-bcd:after",
                                           "1:after", "2:chunk:1", "3:before", "3:after",
                                           "5:launched"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) c = c == ':' || c == '-' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace lifeboat::test
