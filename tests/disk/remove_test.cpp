// `remove` after a real apply on fixture disks whose ESP or System Reserved holds a real BCD
// store: the store is compared with the one before Lifeboat was installed (hivexml), the table
// with sfdisk, every file with ntfs-3g, volume sizes with ntfsinfo.
#include <gtest/gtest.h>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// No room on either disk: apply shrinks Windows and moves WinRE down; Lifeboat's partition ends
// where WinRE ended, at the end of the disk.
const char* kFullGpt = "--label gpt --disk-size 2918M --windows-size 2600M --fill-mb 20";
const char* kFullMbr = "--label mbr --disk-size 2901M --windows-size 2600M --fill-mb 20";

uint64_t NtfsVolumeSize(const std::string& disk, uint64_t offset, uint64_t size) {
  auto r = Sh("set -e; l=$(losetup --find --show --read-only --offset " + std::to_string(offset) +
              " --sizelimit " + std::to_string(size) + " " + Quote(disk) +
              "); ntfsinfo -m -f \"$l\" | awk '/Cluster Size:/ {c=$3} /Volume Size in "
              "Clusters:/ {n=$5} END {printf \"%.0f\", c * n}'; losetup -d \"$l\"");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 && !r.out.empty() ? std::stoull(r.out) : 0;
}

class RemoveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(MakeTestWim(*dir_ / "good.wim", "--variant good"));
    ASSERT_NO_FATAL_FAILURE(MakeTestWim(*dir_ / "bios.wim", "--variant bios-only"));
  }
  static void TearDownTestSuite() { delete dir_; }

  std::string Disk() const { return work_ / "disk.img"; }
  CommandResult Remove(std::vector<std::string> extra, const std::string& env = "") {
    std::vector<std::string> args = {"remove", Disk(), "--state-dir", state_.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent(args, env);
  }
  // Makes the disk, keeps its store and layout, applies the image with `link`, and clears the
  // dirty flag the shrink left on Windows (as Windows does when it next starts).
  void Install(const char* fixture, const std::string& wim, const std::string& link) {
    MakeWindowsDisk(Disk(), fixture);
    original_layout_ = SfLayout(Disk());
    ASSERT_TRUE(CopyStoreOut(Disk(), work_ / "original.bcd"));
    const SfTable t = Sfdisk(Disk());
    windows_ = t.partitions[t.partitions.size() - 2];
    winre_ = t.partitions.back();
    windows_files_ = NtfsFileSums(Disk(), windows_.start * 512, windows_.size * 512);
    winre_files_ = NtfsFileSums(Disk(), winre_.start * 512, winre_.size * 512);
    windows_volume_ = NtfsVolumeSize(Disk(), windows_.start * 512, windows_.size * 512);
    auto applied = Agent({"apply", Disk(), "--image", *dir_ / wim, "--version", "1.0", "--link",
                          link, "--state-dir", state_.path()});
    ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    const SfTable after = Sfdisk(Disk());
    ASSERT_EQ(after.partitions.size(), t.partitions.size() + 1);
    shrunk_windows_ = after.partitions[after.partitions.size() - 3];
    ASSERT_LT(shrunk_windows_.size, windows_.size) << "the fixture must make apply shrink Windows";
    ClearNtfsDirty(Disk(), shrunk_windows_.start * 512, shrunk_windows_.size * 512);
  }
  std::string StoreNow(const std::string& name) {
    std::string out = work_ / name;
    EXPECT_TRUE(CopyStoreOut(Disk(), out));
    return out;
  }

  static inline TempDir* dir_ = nullptr;
  TempDir work_;
  TempDir state_;
  std::string original_layout_, windows_files_, winre_files_;
  SfPartition windows_, winre_, shrunk_windows_;
  uint64_t windows_volume_ = 0;
};

// GPT/UEFI with Lifeboat as Windows' recovery sequence, and MBR/BIOS (whose store names WinRE by
// byte offset): remove --reclaim windows gives back the disk apply found.
TEST_F(RemoveTest, ReclaimWindowsPutsBackTheTableTheStoreAndEveryFile) {
  for (const auto& [fixture, wim, link] : {std::tuple{kFullGpt, "good.wim", "recovery-sequence"},
                                           std::tuple{kFullMbr, "bios.wim", "tools-menu"}}) {
    SCOPED_TRACE(fixture);
    ASSERT_NO_FATAL_FAILURE(Install(fixture, wim, link));
    ASSERT_NE(NormalizedStore(StoreNow("installed.bcd")), NormalizedStore(work_ / "original.bcd"));

    // --dry-run: the plan, and nothing changes.
    const std::string installed = ImageChecksum(Disk());
    auto dry = Remove({"--reclaim", "windows", "--dry-run", "--json"});
    ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
    EXPECT_EQ(JsonShapeProblem(dry.out, "remove_result"), "");
    auto plan = Json(dry.out);
    EXPECT_EQ(plan->getValue<std::string>("result"), "planned");
    EXPECT_EQ(plan->getObject("bcd")->getArray("removed_objects")->size(), 2u);
    EXPECT_NE(dry.out.find("\"delete-partition\""), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("\"move-partition\""), std::string::npos) << dry.out;
    EXPECT_EQ(ImageChecksum(Disk()), installed);

    auto removed = Remove({"--reclaim", "windows", "--json"});
    ASSERT_EQ(removed.exit_code, 0) << removed.out << removed.err;
    EXPECT_EQ(JsonShapeProblem(removed.out, "remove_result"), "");
    EXPECT_EQ(Json(removed.out)->getValue<std::string>("result"), "removed");
    EXPECT_EQ(Json(removed.out)->getValue<std::string>("version"), "1.0");

    // The table as it was before apply (sfdisk), the store as it was (hivexml: every object and
    // element, Windows' recovery sequence and WinRE's offsets included), every file the same,
    // and Windows' volume its old size again (ntfsinfo).
    EXPECT_EQ(Sh("sfdisk --verify " + Quote(Disk())).exit_code, 0);
    EXPECT_EQ(SfLayout(Disk()), original_layout_);
    EXPECT_EQ(NormalizedStore(StoreNow("removed.bcd")), NormalizedStore(work_ / "original.bcd"));
    EXPECT_EQ(NtfsFileSums(Disk(), windows_.start * 512, windows_.size * 512), windows_files_);
    EXPECT_EQ(NtfsFileSums(Disk(), winre_.start * 512, winre_.size * 512), winre_files_);
    EXPECT_GE(NtfsVolumeSize(Disk(), windows_.start * 512, windows_.size * 512) + (1 << 20),
              windows_volume_);

    auto status = Agent({"status", Disk(), "--state-dir", state_.path(), "--json"});
    EXPECT_NE(status.out.find("\"state\": \"absent\""), std::string::npos) << status.out;
    const std::string done = ImageChecksum(Disk());
    auto again = Remove({"--reclaim", "windows", "--json"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(Json(again.out)->getValue<std::string>("result"), "unchanged");
    EXPECT_EQ(ImageChecksum(Disk()), done);
  }
}

// The room to WinRE, in front of Lifeboat's partition: WinRE grows in place, itself unchanged.
TEST_F(RemoveTest, ReclaimWinReGrowsWinReInPlace) {
  ASSERT_NO_FATAL_FAILURE(Install(kFullGpt, "good.wim", "tools-menu"));
  const SfTable installed = Sfdisk(Disk());
  const SfPartition moved_winre = installed.partitions[installed.partitions.size() - 2];
  const SfPartition lifeboat = installed.partitions.back();
  auto removed = Remove({"--reclaim", "winre"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  const SfTable after = Sfdisk(Disk());
  ASSERT_EQ(after.partitions.size(), installed.partitions.size() - 1);
  const SfPartition winre = after.partitions.back();
  EXPECT_EQ(winre.uuid, winre_.uuid);
  EXPECT_EQ(winre.attrs, winre_.attrs);
  EXPECT_EQ(winre.start, moved_winre.start);
  EXPECT_EQ(winre.start + winre.size, lifeboat.start + lifeboat.size);
  EXPECT_EQ(NtfsFileSums(Disk(), winre.start * 512, winre.size * 512), winre_files_);
  EXPECT_GE(NtfsVolumeSize(Disk(), winre.start * 512, winre.size * 512) + (1 << 20),
            winre.size * 512);
  EXPECT_EQ(NormalizedStore(StoreNow("removed.bcd")), NormalizedStore(work_ / "original.bcd"));
}

// Refused with nothing changed: a reclaim the layout does not allow, Windows marked for chkdsk.
// With nothing of Lifeboat on the disk there is nothing to do.
TEST_F(RemoveTest, RefusalsChangeNothing) {
  MakeWindowsDisk(Disk(),
                  "--label gpt --disk-size 3G --windows-size 1000M --winre-size 0 "
                  "--fill-mb 20");
  const std::string pristine = ImageChecksum(Disk());
  auto nothing = Remove({"--json"});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_EQ(Json(nothing.out)->getValue<std::string>("result"), "unchanged");
  EXPECT_EQ(ImageChecksum(Disk()), pristine);

  // Lifeboat in the free space behind Windows, no WinRE: WinRE cannot take the room.
  auto applied = Agent({"apply", Disk(), "--image", *dir_ / "good.wim", "--version", "1.0",
                        "--state-dir", state_.path()});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  const std::string installed = ImageChecksum(Disk());
  auto winre = Remove({"--reclaim", "winre", "--json"});
  EXPECT_EQ(winre.exit_code, 3) << winre.out;
  EXPECT_NE(winre.out.find("\"reason\": \"unknown-partition-in-the-way\""), std::string::npos)
      << winre.out;
  EXPECT_EQ(ImageChecksum(Disk()), installed);

  // Windows marked for chkdsk: it is not grown (the BCD is not touched either).
  const SfTable t = Sfdisk(Disk());
  auto marked =
      Sh("l=$(losetup --find --show --offset " + std::to_string(t.partitions[2].start * 512) +
         " --sizelimit " + std::to_string(t.partitions[2].size * 512) + " " + Quote(Disk()) +
         "); ntfsfix \"$l\" >/dev/null; losetup -d \"$l\"");
  ASSERT_EQ(marked.exit_code, 0) << marked.err;
  const std::string dirty = ImageChecksum(Disk());
  auto windows = Remove({"--reclaim", "windows", "--json"});
  EXPECT_EQ(windows.exit_code, 3) << windows.out;
  EXPECT_NE(windows.out.find("\"reason\": \"ntfs-dirty\""), std::string::npos) << windows.out;
  EXPECT_EQ(ImageChecksum(Disk()), dirty);

  auto usage = Remove({"--reclaim", "everyone"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(ImageChecksum(Disk()), dirty);
}

}  // namespace
}  // namespace lifeboat::test
