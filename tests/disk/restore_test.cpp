// `disk restore --run N` after a real `disk prepare` on fixture disks: the table's sectors are
// compared byte for byte with the disk before the prepare, the partitions with sfdisk, every file
// with ntfs-3g; refusals are checked against whole-disk checksums. Kill -9 during a restore
// converges on the next run.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// Full disks: the prepare shrinks Windows and moves WinRE down.
const char* kFullGpt = "--label gpt --disk-size 2918M --windows-size 2600M --fill-mb 20";
const char* kFullMbr = "--label mbr --disk-size 2901M --windows-size 2600M --fill-mb 20";

// The sectors that hold the table: the first 34 and (GPT) the last 33, as hex digests.
std::string TableSectors(const std::string& disk) {
  auto r = Sh("(head -c 17408 " + Quote(disk) + " | sha256sum; tail -c 16896 " + Quote(disk) +
              " | sha256sum) | cut -d' ' -f1 | tr '\\n' ' '");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Every file of every NTFS partition (Windows, WinRE, System Reserved) but the BCD store, which
// is compared decoded: on MBR disks WinRE's entry follows its moves there and back, and hivex
// writes the same values in other bytes.
std::string Files(const std::string& disk) {
  std::string all;
  for (const auto& p : Sfdisk(disk).partitions) {
    if (p.type == "7" || p.type == "27" || p.type == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" ||
        p.type == "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC") {
      std::istringstream lines(NtfsFileSums(disk, p.start * 512, p.size * 512));
      for (std::string line; std::getline(lines, line);)
        if (line.find("Boot/BCD") == std::string::npos) all += line + "\n";
    }
  }
  const std::string store = disk + ".BCD";
  EXPECT_TRUE(CopyStoreOut(disk, store));
  return all + NormalizedStore(store);
}

class RestoreTest : public ::testing::Test {
 protected:
  std::string Disk() const { return work_ / "disk.img"; }
  CommandResult Agent2(std::vector<std::string> args, const std::string& env = "") {
    args.insert(args.end(), {"--state-dir", state_.path()});
    return Agent(args, env);
  }
  // Prepares the fixture disk; returns the journal run.
  int64_t Prepare(const char* fixture) {
    MakeWindowsDisk(Disk(), fixture);
    table_ = TableSectors(Disk());
    layout_ = SfLayout(Disk());
    files_ = Files(Disk());
    auto prepared = Agent2({"disk", "prepare", Disk(), "--json"});
    EXPECT_EQ(prepared.exit_code, 0) << prepared.out << prepared.err;
    EXPECT_EQ(JsonShapeProblem(prepared.out, "disk_prepare"), "");
    EXPECT_NE(SfLayout(Disk()), layout_);
    return prepared.exit_code == 0 ? Json(prepared.out)->getValue<int64_t>("run") : 0;
  }
  CommandResult Restore(int64_t run, std::vector<std::string> extra = {},
                        const std::string& env = "") {
    std::vector<std::string> args = {"disk", "restore", Disk(), "--run", std::to_string(run)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent2(args, env);
  }
  void ExpectOriginal() {
    EXPECT_EQ(TableSectors(Disk()), table_) << "the table's sectors, byte for byte";
    EXPECT_EQ(SfLayout(Disk()), layout_);
    EXPECT_EQ(Sh("sfdisk --verify " + Quote(Disk())).exit_code, 0);
    EXPECT_EQ(Files(Disk()), files_);
  }

  TempDir work_;
  TempDir state_;
  std::string table_, layout_, files_;
};

TEST_F(RestoreTest, RightAfterAPrepareTheTableComesBackByteForByte) {
  for (const char* fixture : {kFullGpt, kFullMbr}) {
    SCOPED_TRACE(fixture);
    const int64_t run = Prepare(fixture);
    ASSERT_GT(run, 0);
    const std::string prepared = ImageChecksum(Disk());
    auto dry = Restore(run, {"--dry-run", "--json"});
    ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
    EXPECT_EQ(JsonShapeProblem(dry.out, "partition_plan"), "");
    EXPECT_NE(dry.out.find("\"restore-table\""), std::string::npos) << dry.out;
    EXPECT_EQ(ImageChecksum(Disk()), prepared);

    auto restored = Restore(run, {"--json"});
    ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
    EXPECT_EQ(JsonShapeProblem(restored.out, "disk_prepare"), "");
    EXPECT_EQ(Json(restored.out)->getValue<std::string>("result"), "restored");
    ExpectOriginal();
    auto again = Restore(run, {"--json"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(Json(again.out)->getValue<std::string>("result"), "unchanged");
    // The state directory is the disk's: the next fixture starts a journal of its own.
    ASSERT_EQ(Sh("rm -rf " + Quote(state_.path()) + "/*").exit_code, 0);
  }
}

// The whole way back after apply: remove takes the entry and the partition away (giving no room
// back), then the prepare apply ran (named in its output) is undone: the disk apply found.
TEST_F(RestoreTest, AfterApplyRemoveThenRestoreGiveBackTheDisk) {
  MakeWindowsDisk(Disk(), kFullGpt);
  table_ = TableSectors(Disk());
  layout_ = SfLayout(Disk());
  files_ = Files(Disk());
  const std::string wim = work_ / "good.wim";
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(wim, "--variant good"));
  auto applied = Agent2({"apply", Disk(), "--image", wim, "--version", "1.0", "--json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_EQ(JsonShapeProblem(applied.out, "apply"), "");
  const int64_t run = Json(applied.out)->getValue<int64_t>("partition_run");
  ASSERT_GT(run, 0) << applied.out;
  auto early = Restore(run, {"--json"});
  EXPECT_EQ(early.exit_code, 3) << early.out;
  EXPECT_NE(early.out.find("\"reason\": \"lifeboat-installed\""), std::string::npos) << early.out;
  // remove (giving no room back) only deleted the partition, which restore does first anyway.
  auto removed = Agent2({"remove", Disk()});
  ASSERT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  auto restored = Restore(run, {"--json"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  ExpectOriginal();
}

// What the restore would give away must hold nothing: refused, with nothing changed, once
// something was written into Lifeboat's partition, once Lifeboat is installed, once the table
// changed, once a later run changed the disk.
TEST_F(RestoreTest, RefusedOnceTheFreedRoomHoldsSomethingOrTheDiskMovedOn) {
  const int64_t run = Prepare(kFullGpt);
  ASSERT_GT(run, 0);
  const SfPartition lifeboat = Sfdisk(Disk()).partitions.back();
  auto refused = [&](const std::string& reason, int exit_code = 3) {
    const std::string before = ImageChecksum(Disk());
    auto r = Restore(run, {"--json"});
    EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
    EXPECT_NE(r.out.find("\"reason\": \"" + reason + "\""), std::string::npos) << r.out;
    EXPECT_EQ(ImageChecksum(Disk()), before);
  };
  // A file written into Lifeboat's partition since the prepare.
  auto written =
      Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(lifeboat.start * 512) +
         " --sizelimit " + std::to_string(lifeboat.size * 512) + " " + Quote(Disk()) +
         "); m=$(mktemp -d); ntfs-3g \"$l\" \"$m\"; echo kept > \"$m/notes.txt\"; "
         "umount \"$m\"; rmdir \"$m\"; losetup -d \"$l\"");
  ASSERT_EQ(written.exit_code, 0) << written.err;
  refused("lifeboat-in-use");

  // Lifeboat installed into it: remove it first.
  const std::string wim = work_ / "good.wim";
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(wim, "--variant good"));
  auto applied = Agent2({"apply", Disk(), "--image", wim, "--version", "1.0"});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  refused("lifeboat-installed");

  // Removed with its room given to WinRE: a later run that changed the layout, which restore
  // does not reach past.
  auto removed = Agent2({"remove", Disk(), "--reclaim", "winre"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  auto table = Restore(run, {"--json"});
  EXPECT_EQ(table.exit_code, 3) << table.out;
  EXPECT_NE(table.out.find("\"reason\": \"later-run\""), std::string::npos) << table.out;

  auto unknown = Restore(run + 100, {"--json"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.out;
}

TEST_F(RestoreTest, ATableChangedSinceIsRefused) {
  const int64_t run = Prepare(kFullMbr);
  ASSERT_GT(run, 0);
  // Someone shrinks Lifeboat's partition with sfdisk (its slot 4).
  auto changed = Sh("echo ',-100M' | sfdisk -q -N 4 " + Quote(Disk()));
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  const std::string before = ImageChecksum(Disk());
  auto r = Restore(run, {"--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("\"reason\": \"table-changed\""), std::string::npos) << r.out;
  EXPECT_EQ(ImageChecksum(Disk()), before);
}

// kill -9 at its steps (0 backup, 1 delete, 2 move WinRE up, 3 retarget, 4 resize Windows, 5 grow
// its NTFS, 6 write the table) and inside the move: the next run gives the same disk.
TEST_F(RestoreTest, AKilledRestoreFinishesOnTheNextRun) {
  for (const char* point : {"2:chunk:1", "5:launched", "6:before"}) {
    SCOPED_TRACE(point);
    const int64_t run = Prepare(kFullMbr);
    ASSERT_GT(run, 0);
    auto killed = Restore(run, {}, std::string("LIFEBOAT_TEST_CRASH_AT=") + point);
    ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
    auto finished = Restore(run);
    ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
    EXPECT_NE(finished.out.find("resumed"), std::string::npos) << finished.out;
    ExpectOriginal();
    ASSERT_EQ(Sh("rm -rf " + Quote(state_.path()) + "/*").exit_code, 0);
  }
}

}  // namespace
}  // namespace lifeboat::test

namespace lifeboat::test {
namespace {

// A prepare cut short leaves the disk between two layouts: remove and restore refuse, naming the
// command that finishes it, and change nothing.
TEST_F(RestoreTest, AHalfDonePrepareIsFinishedFirst) {
  MakeWindowsDisk(Disk(), kFullMbr);
  auto killed = Agent2({"disk", "prepare", Disk()}, "LIFEBOAT_TEST_CRASH_AT=3:chunk:1");
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  const std::string between = ImageChecksum(Disk());
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"remove", Disk(), "--json"},
        std::vector<std::string>{"disk", "restore", Disk(), "--run", "1", "--json"}}) {
    auto r = Agent2(command);
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("\"reason\": \"unfinished-run\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("`lifeboat-agent disk prepare " + Disk() + "` finishes it"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(ImageChecksum(Disk()), between);
  }
}

}  // namespace
}  // namespace lifeboat::test
