// Bad input and every refusal: a clear message, a non-zero exit code, and the image unchanged.
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

struct RefusalCase {
  std::string name;
  std::string fixture;  // make-windows-disk options
  std::string size;     // --size
  int exit_code;
  std::string message;  // a piece of the message a person acts on
};

void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.name; }

class RefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(RefusalTest, RefusesClearlyAndChangesNothing) {
  const RefusalCase& c = GetParam();
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, c.fixture);
  const std::string before = ImageChecksum(disk);
  for (const std::string command : {"plan", "prepare"}) {
    // Only prepare keeps a journal: plan takes no --state-dir.
    std::vector<std::string> args = {"disk", command, disk, "--size", c.size};
    if (command == "prepare") args.insert(args.end(), {"--state-dir", dir / "state"});
    auto r = Agent(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << command << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << command << ": " << r.err;
    EXPECT_NE(r.err.find("disk.img"), std::string::npos) << "the message names the disk: " << r.err;
    args.push_back("--json");
    auto json = Agent(args);
    EXPECT_EQ(json.exit_code, c.exit_code);
    auto error = Json(json.out)->getObject("error");
    EXPECT_EQ(error->getValue<std::string>("code"), "refused") << json.out;
    EXPECT_FALSE(error->getValue<std::string>("reason").empty()) << json.out;
  }
  EXPECT_EQ(ImageChecksum(disk), before);
}

const char* kSmall = "--disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 20";

INSTANTIATE_TEST_SUITE_P(
    Cases, RefusalTest,
    ::testing::Values(
        RefusalCase{"bitlocker_protection_on", std::string(kSmall) + " --variant bitlocker", "1G",
                    3, "`manage-bde -protectors -disable C: -RebootCount 1`"},
        RefusalCase{"bitlocker_suspended_without_room",
                    std::string(kSmall) + " --variant bitlocker-suspended", "1G", 3,
                    "never shrunk from Linux"},
        RefusalCase{"dirty", std::string(kSmall) + " --variant dirty", "1G", 3,
                    "marked for chkdsk"},
        RefusalCase{"not_windows", std::string(kSmall) + " --variant not-windows", "1G", 3,
                    "not a Windows disk"},
        RefusalCase{"unknown_between", std::string(kSmall) + " --variant unknown-between", "1G", 3,
                    "sits between Windows"},
        RefusalCase{
            "four_primaries",
            "--label mbr --disk-size 4G --windows-size 3000M --winre-size 200M --fill-mb 20 "
            "--variant four-primaries",
            "1G", 3, "primary partition slots"},
        RefusalCase{"not_enough_space",
                    "--disk-size 2G --windows-size 1700M --winre-size 200M --fill-mb 300", "1G", 3,
                    "not enough room"},
        RefusalCase{"no_table", std::string(kSmall) + " --variant no-table", "1G", 3,
                    "no partition table"},
        RefusalCase{"corrupt_gpt_header", std::string(kSmall) + " --variant corrupt-gpt-header",
                    "1G", 3, "needs repair"},
        RefusalCase{"lifeboat_too_small", std::string(kSmall) + " --variant lifeboat", "2G", 3,
                    "growing it"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(BadInput, MissingPathIsNotFound) {
  auto r = Agent(
      {"disk", "prepare", "/var/tmp/no-such-disk.img", "--state-dir", "/var/tmp/lifeboat-none"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("/var/tmp/no-such-disk.img"), std::string::npos) << r.err;
}

TEST(BadInput, ADirectoryIsNotADisk) {
  TempDir dir;
  auto r = Agent({"disk", "show", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a disk"), std::string::npos) << r.err;
}

TEST(BadInput, BadSizeAndUnknownOptionsAreUsageErrors) {
  EXPECT_EQ(Agent({"disk", "plan", "x.img", "--size", "lots"}).exit_code, 2);
  EXPECT_EQ(Agent({"disk", "plan", "x.img", "--frobnicate"}).exit_code, 2);
  EXPECT_EQ(Agent({"disk", "explode", "x.img"}).exit_code, 2);
  auto help = Agent({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("disk prepare DISK"), std::string::npos);
}

TEST(BadInput, ReadOnlyImageFailsBeforeChangingAnything) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, kSmall);
  const std::string before = ImageChecksum(disk);
  // chattr +i makes the file read-only even for root.
  ASSERT_EQ(Sh("chattr +i " + Quote(disk)).exit_code, 0);
  auto r = Agent({"disk", "prepare", disk, "--size", "1G", "--state-dir", dir / "state"});
  Sh("chattr -i " + Quote(disk));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot open for writing"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk), before);
}

TEST(BadInput, ALockedDiskIsBusy) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, kSmall);
  const std::string before = ImageChecksum(disk);
  auto r = Sh("flock --exclusive " + Quote(disk) + " " + Quote(LIFEBOAT_AGENT) + " disk prepare " +
              Quote(disk) + " --size 1G --lock-wait 1 --state-dir " + Quote(dir / "state"));
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk), before);
}

}  // namespace
}  // namespace lifeboat::test
