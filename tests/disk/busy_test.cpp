// Who holds a disk's bytes. A Windows volume mounted through a loop device at its offset in the
// image (issue 12, item 3): nothing may resize it under the filesystem; every command that
// changes the disk exits 4 (busy) naming the mount point, and the image is byte-identical. And
// the loop devices Lifeboat itself attaches go away when it is killed (item 7).
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

class BusyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BusyTest, AMountedWindowsVolumeMakesTheDiskBusy) {
  const std::string mode = GetParam();  // "ro" or "rw"
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  MakeTestWim(dir / "good.wim", "--size-mb 4");
  const SfPartition windows = Sfdisk(disk).partitions.at(2);
  const std::string mount_point = dir / "mounted windows";  // a blank, escaped in mountinfo
  auto loop = Sh("losetup --find --show --offset " + std::to_string(windows.start * 512) +
                 " --sizelimit " + std::to_string(windows.size * 512) + " " + Quote(disk));
  ASSERT_EQ(loop.exit_code, 0) << loop.err;
  const std::string device = loop.out.substr(0, loop.out.find('\n'));
  ASSERT_EQ(Sh("mkdir -p " + Quote(mount_point) + " && ntfs-3g -o " + mode + " " + device + " " +
               Quote(mount_point))
                .exit_code,
            0);
  const std::string before = ImageChecksum(disk);
  const std::vector<std::vector<std::string>> commands = {
      {"disk", "prepare", disk, "--state-dir", dir / "state"},
      {"apply", disk, "--image", dir / "good.wim", "--version", "1", "--state-dir", dir / "state"},
      {"bcd", "boot-once", disk, "--state-dir", dir / "state"},
  };
  std::vector<CommandResult> results;
  for (const auto& args : commands) results.push_back(Agent(args));
  const std::string while_mounted = ImageChecksum(disk);
  Sh("umount " + Quote(mount_point) + "; losetup --detach " + device);
  for (size_t i = 0; i < results.size(); ++i) {
    // Before the fix, apply ran ntfsresize on the mounted volume and exited 0.
    EXPECT_EQ(results[i].exit_code, 4)
        << commands[i][0] << ": " << results[i].out << results[i].err;
    EXPECT_NE(results[i].err.find("mounted at " + mount_point), std::string::npos)
        << results[i].err;
    EXPECT_NE(results[i].err.find(device), std::string::npos) << results[i].err;
  }
  EXPECT_EQ(while_mounted, before) << "the disk changed under a mounted volume";
}

INSTANTIATE_TEST_SUITE_P(Modes, BusyTest, ::testing::Values("ro", "rw"));

// Loop devices over `disk`, as losetup lists them.
std::string LoopsOver(const std::string& disk) {
  return Sh("losetup --noheadings --output NAME --associated " + Quote(disk)).out;
}

TEST(LoopDevices, AKilledApplyLeavesNoneAttached) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  MakeTestWim(dir / "good.wim", "--size-mb 8");
  ASSERT_EQ(LoopsOver(disk), "");
  // apply holds inside the image write (the recovery volume's loop device attached) until killed.
  const std::string hold =
      "LIFEBOAT_TEST_HOLD_AT=apply:write-image:chunk:1 LIFEBOAT_TEST_HOLD_FILE=" +
      Quote(dir / "never");
  auto started = Sh(hold + " " + Quote(LIFEBOAT_AGENT) + " apply " + Quote(disk) + " --image " +
                    Quote(dir / "good.wim") + " --version 1 --events --state-dir " +
                    Quote(dir / "state") + " > " + Quote(dir / "apply.log") + " 2>&1 & echo $!");
  const std::string pid = started.out.substr(0, started.out.find('\n'));
  std::string held;
  for (int i = 0; i < 600 && held.empty(); ++i) {
    if (Sh("grep -q 'write-image started' " + Quote(dir / "apply.log")).exit_code == 0)
      held = LoopsOver(disk);
    if (held.empty()) Sh("sleep 0.1");
  }
  if (held.empty()) Sh("kill -9 " + pid);
  ASSERT_FALSE(held.empty()) << "apply never reached the image write: "
                             << Sh("cat " + Quote(dir / "apply.log")).out;
  ASSERT_EQ(Sh("kill -9 " + pid + " && while kill -0 " + pid + " 2>/dev/null; do sleep 0.05; done")
                .exit_code,
            0);
  // The kernel's autoclear detaches them at the last close; allow it a moment.
  std::string left = LoopsOver(disk);
  for (int i = 0; i < 50 && !left.empty(); ++i) {
    Sh("sleep 0.1");
    left = LoopsOver(disk);
  }
  EXPECT_EQ(left, "") << "loop devices left attached after kill -9 (held before: " << held << ")";
}

}  // namespace
}  // namespace lifeboat::test
