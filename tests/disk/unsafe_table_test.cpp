// Tables that are valid byte for byte but wrong in what they say (issue 12, items 1, 2, 5 and 8):
// every command that could change the disk refuses with exit 3 and a message naming what is
// wrong, and the whole image stays byte-identical (cksum).
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

struct UnsafeCase {
  std::string name;
  std::string variant;  // make-windows-disk --variant
  std::string message;  // what the refusal must say
};

void PrintTo(const UnsafeCase& c, std::ostream* os) { *os << c.name; }

class UnsafeTableTest : public ::testing::TestWithParam<UnsafeCase> {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    MakeTestWim(*wims_ / "good.wim", "--size-mb 4");
  }
  static void TearDownTestSuite() { delete wims_; }
  static TempDir* wims_;
};
TempDir* UnsafeTableTest::wims_ = nullptr;

TEST_P(UnsafeTableTest, EveryChangingCommandRefusesAndTheDiskIsUntouched) {
  const UnsafeCase& c = GetParam();
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20 --variant " + c.variant);
  const std::string before = ImageChecksum(disk);
  const std::string state = dir / "state";
  const std::vector<std::vector<std::string>> commands = {
      {"disk", "plan", disk, "--size", "1G"},
      {"disk", "prepare", disk, "--size", "1G", "--state-dir", state},
      {"apply", disk, "--image", *wims_ / "good.wim", "--version", "1", "--state-dir", state},
      {"apply", disk, "--image", *wims_ / "good.wim", "--version", "1", "--dry-run"},
      {"bcd", "boot-once", disk, "--state-dir", state},
  };
  for (const auto& args : commands) {
    auto r = Agent(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << " " << args[1] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find("unsafe-partition-table"), std::string::npos) << r.err;
  }
  // `disk show` describes the disk and says what is wrong with it.
  auto show = Agent({"disk", "show", disk});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("UNSAFE: "), std::string::npos) << show.out;
  auto json = Agent({"disk", "show", disk, "--json"});
  EXPECT_NE(json.out.find("\"problems\": [\n"), std::string::npos) << json.out;
  EXPECT_EQ(ImageChecksum(disk), before) << "the disk changed";
}

INSTANTIATE_TEST_SUITE_P(
    Variants, UnsafeTableTest,
    ::testing::Values(
        // Partition 4 (WinRE) starts 1 MiB inside partition 3 (Windows), CRCs valid.
        UnsafeCase{"overlap", "overlap", "partition 3 (sectors 239616-6383615) and partition 4"},
        UnsafeCase{"past_end", "past-end", "partition 4 (sectors 6383616-10485760) runs past"},
        UnsafeCase{"hybrid_mbr", "hybrid-mbr", "hybrid MBR: entry 2 (type 0x07"},
        // The backup GPT is cut off; this used to read as "an MBR disk with no active partition".
        UnsafeCase{"cut_short", "cut-short", "the disk has only 8372224 sectors"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(UnsafeTableTest, FilesTooSmallForATableAreUsageErrorsNotAborts) {
  TempDir dir;
  for (uint64_t size : {0, 1, 511, 4096}) {
    const std::string disk = dir / ("tiny-" + std::to_string(size) + ".img");
    ASSERT_EQ(Sh("head -c " + std::to_string(size) + " /dev/zero > " + Quote(disk)).exit_code, 0);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"disk", "show", disk},
          {"disk", "prepare", disk, "--state-dir", dir / "state"},
          {"apply", disk, "--image", *wims_ / "good.wim", "--version", "1", "--state-dir",
           dir / "state"},
          {"status", disk}}) {
      auto r = Agent(args);
      // Before the fix: libfdisk's assertion, exit 134.
      EXPECT_EQ(r.exit_code, 2) << args[0] << " on " << size << " bytes: " << r.out << r.err;
      EXPECT_NE(r.err.find("too small to be a disk"), std::string::npos) << r.err;
    }
    EXPECT_EQ(Sh("stat -c %s " + Quote(disk)).out, std::to_string(size) + "\n");
  }
}

TEST(SectorSize, A512ByteGptThroughA4096ByteDeviceIsNamed) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const std::string before = ImageChecksum(disk);
  auto loop = Sh("losetup --find --show --sector-size 4096 " + Quote(disk));
  ASSERT_EQ(loop.exit_code, 0) << loop.err;
  const std::string device = loop.out.substr(0, loop.out.find('\n'));
  auto r = Agent({"disk", "prepare", device, "--state-dir", dir / "state"});
  auto bcd = Agent({"bcd", "boot-once", device, "--state-dir", dir / "state"});
  Sh("losetup --detach " + device);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("GPT written for 512-byte sectors, but this device has 4096-byte"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(bcd.exit_code, 3) << bcd.err;
  EXPECT_EQ(r.err.find("no active partition"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk), before);
}

// Item 4: sizes no disk could take are refused before a run is begun in the journal.
TEST_F(UnsafeTableTest, AbsurdSizesChangeNothing) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const std::string before = ImageChecksum(disk);
  const std::string state = dir / "state";
  struct Case {
    std::vector<std::string> extra;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--size", "1K"}, 2, "too small"},
      {{"--size", "63M"}, 2, "too small"},
      {{"--size", "18446744073709551615"}, 3, "does not fit on a disk of 4 GiB"},
      {{"--size", "18446744073709551616"}, 2, "is not a size"},
      {{"--size", "5G"}, 3, "does not fit on a disk of 4 GiB"},
      {{"--shrink-margin", "16777215T"}, 2, "more than the whole disk"},
  };
  for (const auto& c : cases) {
    for (const std::string command : {"apply", "prepare"}) {
      std::vector<std::string> args =
          command == "apply"
              ? std::vector<std::string>{"apply",     disk, "--image",     *wims_ / "good.wim",
                                         "--version", "1",  "--state-dir", state}
              : std::vector<std::string>{"disk", "prepare", disk, "--state-dir", state};
      args.insert(args.end(), c.extra.begin(), c.extra.end());
      auto r = Agent(args);
      EXPECT_EQ(r.exit_code, c.exit_code) << command << " " << c.extra[1] << ": " << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos)
          << command << " " << c.extra[1] << ": " << r.err;
    }
  }
  // The image-size behind the default: 2 x (2^64 - 1) no longer wraps to a small partition.
  auto r = Agent(
      {"disk", "prepare", disk, "--image-size", "18446744073709551615", "--state-dir", state});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot fit on a disk"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk), before) << "the disk changed";
  // No run was begun: the journal holds no prepare or apply run.
  auto runs = Sh("sqlite3 " + Quote(state + "/journal.db") +
                 " 'SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM apply_runs)'");
  EXPECT_EQ(runs.out, "0\n") << runs.err;
}

// Item 8: messages say what is wrong where the user can act on it.
TEST_F(UnsafeTableTest, ADamagedJournalAndACutShortStoreAreNamed) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const std::string before = ImageChecksum(disk);
  // A journal that is not a database.
  const std::string state = dir / "state";
  ASSERT_EQ(Sh("mkdir -p " + Quote(state) + " && head -c 20000 /dev/urandom > " +
               Quote(state + "/journal.db"))
                .exit_code,
            0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"apply", disk, "--image", *wims_ / "good.wim", "--version", "1",
                                 "--state-dir", state},
        {"disk", "prepare", disk, "--state-dir", state}}) {
    auto r = Agent(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("the journal " + state + "/journal.db is damaged"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(".recover"), std::string::npos) << r.err;
  }
  EXPECT_EQ(ImageChecksum(disk), before);
  // A BCD store cut short (a copy that stopped half-way): named by its place on the disk, with
  // what is wrong, not by the agent's private temporary copy.
  const uint64_t esp = Sfdisk(disk).partitions.at(0).start * 512;
  const std::string image = disk + "@@" + std::to_string(esp);
  ASSERT_EQ(Sh("mcopy -o -i " + Quote(image) + " ::/EFI/Microsoft/Boot/BCD " + Quote(dir / "bcd") +
               " && head -c 5000 " + Quote(dir / "bcd") + " > " + Quote(dir / "bcd.cut") +
               " && mcopy -o -i " + Quote(image) + " " + Quote(dir / "bcd.cut") +
               " ::/EFI/Microsoft/Boot/BCD")
                .exit_code,
            0);
  const std::string cut = ImageChecksum(disk);
  auto r = Agent({"apply", disk, "--image", *wims_ / "good.wim", "--version", "1", "--state-dir",
                  dir / "state2"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("\\EFI\\Microsoft\\Boot\\BCD on partition 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cut short"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("/tmp/"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk), cut);
}

}  // namespace
}  // namespace lifeboat::test
