// Windows disks whose Windows volume is BitLocker-encrypted, as Windows leaves them (metadata
// written by tests/fixtures/make-bitlocker-volume; the unit tests check it reads the same in
// bdeinfo and cryptsetup bitlkDump). With protection on, every command that would change the
// boot path refuses before anything changes, and says how to suspend protection for one reboot;
// with protection suspended and free space on the disk, Lifeboat installs beside the encrypted
// volume without touching a byte of it.
#include <gtest/gtest.h>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

constexpr const char* kSuspendHint = "`manage-bde -protectors -disable C: -RebootCount 1`";

class BitLockerDiskTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeTestWim(dir_ / "good.wim", "--variant good"); }
  // After Windows (2000 MiB) and WinRE there is room for Lifeboat without a shrink.
  std::string MakeDisk(const std::string& label, const std::string& variant) {
    const std::string disk = dir_ / (variant + ".img");
    MakeWindowsDisk(disk, "--label " + label +
                              " --disk-size 4G --windows-size 2000M --fill-mb 20 --variant " +
                              variant);
    return disk;
  }
  // The Windows (BitLocker) partition, as sfdisk reads the table: the largest one.
  static SfPartition Encrypted(const std::string& disk) {
    SfPartition largest;
    for (const auto& p : Sfdisk(disk).partitions)
      if (p.size > largest.size) largest = p;
    return largest;
  }
  CommandResult Apply(const std::string& disk, bool json = false) {
    std::vector<std::string> args = {"apply",     disk,  "--image",     dir_ / "good.wim",
                                     "--version", "1.0", "--state-dir", dir_ / "state"};
    if (json) args.push_back("--json");
    return Agent(args);
  }
  TempDir dir_;
};

// (The refusal does not depend on the label; `disk plan` and `disk prepare` are refused in
// RefusalTest, on a disk without room.)
TEST_F(BitLockerDiskTest, ProtectionOnIsReportedAndApplyIsRefusedBeforeAnythingChanges) {
  const std::string disk = MakeDisk("gpt", "bitlocker");
  const std::string before = ImageChecksum(disk);

  // Reported: `disk show` and the inventory name the protectors and that protection is on.
  auto show = Agent({"disk", "show", disk, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(JsonShapeProblem(show.out, "disk_show"), "");
  bool seen = false;
  auto parts = Json(show.out)->getArray("partitions");
  for (size_t i = 0; i < parts->size(); ++i) {
    auto p = parts->getObject(static_cast<unsigned>(i));
    if (!p->has("bitlocker")) continue;
    seen = true;
    EXPECT_EQ(p->getValue<std::string>("role"), "windows");
    auto b = p->getObject("bitlocker");
    EXPECT_EQ(b->getValue<std::string>("protection"), "on");
    auto protectors = b->getArray("protectors");
    ASSERT_EQ(protectors->size(), 2u);
    EXPECT_EQ(protectors->getElement<std::string>(0), "tpm");
    EXPECT_EQ(protectors->getElement<std::string>(1), "recovery-password");
  }
  EXPECT_TRUE(seen) << show.out;
  auto inventory = Agent({"inventory", disk, "--state-dir", dir_ / "state"});
  ASSERT_EQ(inventory.exit_code, 0) << inventory.err;
  EXPECT_EQ(JsonShapeProblem(inventory.out, "inventory"), "");
  EXPECT_TRUE(Json(inventory.out)->getValue<bool>("bitlocker_protection_on")) << inventory.out;

  // Refused: apply (it would add a boot entry), disk prepare, and a dry run of apply.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"apply", disk, "--image", dir_ / "good.wim", "--version", "1.0", "--state-dir",
            dir_ / "state"},
           {"apply", disk, "--image", dir_ / "good.wim", "--version", "1.0", "--state-dir",
            dir_ / "state", "--dry-run"},
           {"disk", "prepare", disk, "--state-dir", dir_ / "state"}}) {
    auto r = Agent(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(kSuspendHint), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("has BitLocker protection on (protectors: tpm, recovery-password)"),
              std::string::npos)
        << r.err;
  }
  auto json = Apply(disk, true);
  EXPECT_EQ(json.exit_code, 3);
  EXPECT_EQ(Json(json.out)->getObject("error")->getValue<std::string>("reason"),
            "bitlocker-protection-on")
      << json.out;
  EXPECT_EQ(ImageChecksum(disk), before) << "the disk changed";
}

class BitLockerLabelTest : public BitLockerDiskTest,
                           public ::testing::WithParamInterface<std::string> {};

// On both labels: the boot entry goes to the ESP's store (GPT) or System Reserved's (MBR).
TEST_P(BitLockerLabelTest, SuspendedWithRoomInstallsBesideTheEncryptedVolumeUntouched) {
  const std::string disk = MakeDisk(GetParam(), "bitlocker-suspended");
  const SfPartition encrypted = Encrypted(disk);
  const std::string bytes = RangeChecksum(disk, encrypted.start * 512, encrypted.size * 512);

  auto r = Apply(disk);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;

  // Lifeboat's partition is there (sfdisk); the encrypted volume is where it was, byte for byte.
  const SfTable after = Sfdisk(disk);
  EXPECT_TRUE(Named(after, "Lifeboat") || GetParam() == "mbr");
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  const SfPartition still = Encrypted(disk);
  EXPECT_EQ(still.start, encrypted.start);
  EXPECT_EQ(still.size, encrypted.size);
  EXPECT_EQ(RangeChecksum(disk, still.start * 512, still.size * 512), bytes);
  // bdeinfo still reads the same volume (its metadata copies are inside those bytes).
  auto bde = Sh("bdeinfo -o " + std::to_string(still.start * 512) + " " + Quote(disk));
  EXPECT_NE(bde.out.find("Clear key"), std::string::npos) << bde.out << bde.err;

  // The boot entry, read from the store with hivexsh: the RAM disk boots 1.0's WIM.
  ASSERT_TRUE(CopyStoreOut(disk, dir_ / "after.bcd"));
  auto status = Agent({"status", disk, "--verify", "--json", "--state-dir", dir_ / "state"});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  auto installed = Json(status.out)->getObject("installed");
  EXPECT_EQ(installed->getValue<std::string>("version"), "1.0");
  const std::string loader = Json(Apply(disk, true).out)->getValue<std::string>("loader_guid");
  auto device = HexBytes(ElementValue(dir_ / "after.bcd", loader, "11000001"));
  EXPECT_EQ(RamdiskPath(device), "\\Recovery\\Lifeboat\\1.0\\boot.wim");
}

INSTANTIATE_TEST_SUITE_P(Labels, BitLockerLabelTest, ::testing::Values("gpt", "mbr"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace lifeboat::test
