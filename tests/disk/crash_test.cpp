// Kill -9 of `disk prepare` at every step boundary, inside the move's copy and inside ntfsresize;
// the next run must converge to the same disk as an uninterrupted run, with no Windows file
// changed.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

const char* kFixture =
    "--label gpt --disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 120";

// The layout without the one thing that differs between runs: the new partition's random GUID.
std::string Layout(const SfTable& t) {
  std::string s = t.label + " " + t.id + "\n";
  for (const auto& p : t.partitions) {
    s += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.type + " " + p.name +
         " " + p.attrs + " " + (p.name == "Lifeboat" ? "new-guid" : p.uuid) + "\n";
  }
  return s;
}

class CrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    MakeWindowsDisk(Pristine(), kFixture);
    const SfTable before = Sfdisk(Pristine());
    windows_ = before.partitions[2];
    files_ = new std::string(NtfsFileSums(Pristine(), windows_.start * 512, windows_.size * 512));
    // The reference: one uninterrupted run on a copy.
    const std::string reference = *dir_ / "reference.img";
    ASSERT_EQ(Sh("cp --sparse=always " + Quote(Pristine()) + " " + Quote(reference)).exit_code, 0);
    auto r = Agent(
        {"disk", "prepare", reference, "--size", "1G", "--state-dir", *dir_ / "reference-state"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expected_ = new std::string(Layout(Sfdisk(reference)));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete expected_;
    delete dir_;
  }
  static std::string Pristine() { return *dir_ / "pristine.img"; }

  // Copies the pristine disk for one scenario.
  std::string Copy(const std::string& name) {
    const std::string disk = *dir_ / (name + ".img");
    EXPECT_EQ(Sh("cp --sparse=always " + Quote(Pristine()) + " " + Quote(disk)).exit_code, 0);
    return disk;
  }

  // Runs `disk prepare` killed (SIGKILL, by the agent's test hook) at `point`.
  static void PrepareKilledAt(const std::string& disk, const std::string& state,
                              const std::string& point) {
    auto killed = Agent({"disk", "prepare", disk, "--size", "1G", "--state-dir", state},
                        "LIFEBOAT_TEST_CRASH_AT=" + point);
    ASSERT_EQ(killed.exit_code, 128 + 9)
        << "expected SIGKILL at " << point << ": " << killed.out << killed.err;
  }

  void ExpectConverged(const std::string& disk, const std::string& state) {
    auto rerun = Agent({"disk", "prepare", disk, "--size", "1G", "--state-dir", state});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
    EXPECT_EQ(Layout(Sfdisk(disk)), *expected_);
    EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
    const SfTable after = Sfdisk(disk);
    EXPECT_EQ(NtfsFileSums(disk, windows_.start * 512, after.partitions[2].size * 512), *files_);
    // A further run finds nothing to do.
    auto third = Agent({"disk", "prepare", disk, "--size", "1G", "--state-dir", state});
    EXPECT_NE(third.out.find("unchanged"), std::string::npos) << third.out << third.err;
  }

  static inline TempDir* dir_ = nullptr;
  static inline SfPartition windows_;
  static inline std::string* files_ = nullptr;
  static inline std::string* expected_ = nullptr;
};

TEST_P(CrashTest, KilledRunResumesToTheSameDisk) {
  const std::string point = GetParam();
  std::string name = point;
  for (char& c : name) c = c == ':' ? '_' : c;
  const std::string disk = Copy(name);
  const std::string state = *dir_ / (name + "-state");
  ASSERT_NO_FATAL_FAILURE(PrepareKilledAt(disk, state, point));
  ExpectConverged(disk, state);
}

// Steps: 0 backup, 1 shrink, 2 resize, 3 move, 4 retarget (ReAgent.xml), 5 create, 6 format.
INSTANTIATE_TEST_SUITE_P(EveryStep, CrashTest,
                         ::testing::Values("0:before", "0:after", "1:before", "1:after", "2:after",
                                           "3:before", "3:chunk:1", "3:chunk:7", "3:after",
                                           "4:after", "5:after", "6:before", "6:after"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) c = c == ':' ? '_' : c;
                           return n;
                         });

// Starts `disk prepare` and kills it with SIGKILL the moment its ntfsresize child doing the real
// resize (not the --info or --no-action run) appears: the agent alone, or with `group`, the agent
// in a process group of its own killed as a group. Prints "killed" if it was, then "rc=" and the
// agent's exit status.
CommandResult PrepareKilledDuringNtfsresize(const std::string& disk, const std::string& state,
                                            bool group) {
  return Sh(std::string(group ? "setsid " : "") + Quote(LIFEBOAT_AGENT) + " disk prepare " +
            Quote(disk) + " --size 1G --state-dir " + Quote(state) +
            " >/dev/null 2>&1 & agent=$!; "
            "for i in $(seq 1 2000); do "
            "  if pgrep -P $agent -f 'ntfsresize --force' >/dev/null; then kill -9 -- " +
            (group ? "-$agent" : "$agent") +
            "; echo killed; break; fi; "
            "  sleep 0.005; "
            "done; wait $agent; echo rc=$?");
}

TEST_F(CrashTest, KilledWhileNtfsresizeRunsWaitsForItAndConverges) {
  const std::string disk = Copy("inside-shrink");
  const std::string state = *dir_ / "inside-shrink-state";
  auto r = PrepareKilledDuringNtfsresize(disk, state, false);
  EXPECT_NE(r.out.find("killed"), std::string::npos)
      << "ntfsresize was never seen running: " << r.out;
  EXPECT_NE(r.out.find("rc=137"), std::string::npos) << r.out;
  ExpectConverged(disk, state);
}

// Marks the Windows volume for chkdsk as ntfsresize does first thing, by a real ntfsresize that
// shrinks it by 8 MiB: the state of a resize cut short after its first act.
void MarkForChkdsk(const std::string& disk, const SfPartition& windows) {
  auto r = Sh("dev=$(losetup --find --show --offset " + std::to_string(windows.start * 512) +
              " --sizelimit " + std::to_string(windows.size * 512) + " " + Quote(disk) +
              ") && ntfsresize --force --no-progress-bar --size " +
              std::to_string(windows.size * 512 - 8 * 1048576) +
              " $dev >/dev/null; rc=$?; info=$(ntfsresize --info --no-progress-bar $dev 2>&1); "
              "losetup --detach $dev; [ $rc = 0 ] && [[ $info == *'scheduled for check'* ]]");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(CrashTest, AResizeCutShortAfterMarkingTheVolumeConverges) {
  // Issue 12, item 6: every rerun failed with "Volume is scheduled for check".
  const std::string disk = Copy("cut-short-resize");
  const std::string state = *dir_ / "cut-short-resize-state";
  ASSERT_NO_FATAL_FAILURE(PrepareKilledAt(disk, state, "1:launched"));
  MarkForChkdsk(disk, windows_);
  ExpectConverged(disk, state);
}

TEST_F(CrashTest, ACheckFlagLifeboatDidNotSetIsNeverOverridden) {
  const std::string disk = Copy("foreign-flag");
  const std::string state = *dir_ / "foreign-flag-state";
  // The run stops before the shrink starts; then someone else marks the volume for chkdsk.
  ASSERT_NO_FATAL_FAILURE(PrepareKilledAt(disk, state, "1:before"));
  MarkForChkdsk(disk, windows_);
  const std::string table = Sh("sfdisk --dump " + Quote(disk)).out;
  auto rerun = Agent({"disk", "prepare", disk, "--size", "1G", "--state-dir", state});
  EXPECT_EQ(rerun.exit_code, 3) << rerun.out << rerun.err;
  EXPECT_NE(rerun.err.find("not by an ntfsresize Lifeboat started"), std::string::npos)
      << rerun.err;
  EXPECT_EQ(Sh("sfdisk --dump " + Quote(disk)).out, table);
}

TEST_F(CrashTest, AGroupKillDoesNotCutNtfsresizeShort) {
  const std::string disk = Copy("group-kill");
  const std::string state = *dir_ / "group-kill-state";
  // Killed as a group (as `timeout -s KILL` or a supervisor does) the moment the real ntfsresize
  // appears: the tool has a session of its own and finishes, so the volume is never left
  // half-resized.
  auto r = PrepareKilledDuringNtfsresize(disk, state, true);
  EXPECT_NE(r.out.find("killed"), std::string::npos)
      << "ntfsresize was never seen running: " << r.out;
  ExpectConverged(disk, state);
}

}  // namespace
}  // namespace lifeboat::test
