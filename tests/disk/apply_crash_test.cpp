// Kill -9 of `apply` at every step boundary, inside the image write and between the BCD backup and
// the store's replacement. At the moment of the kill, the boot entry must point at an image that
// is fully written and verified (the old one or the new one); running apply again must converge
// to the same disk as an uninterrupted run.
#include <gtest/gtest.h>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

std::string FileSha(const std::string& path) {
  return Sh("sha256sum " + Quote(path)).out.substr(0, 64);
}

// What an upgrade leaves on the disk, read with sfdisk, hivexml and ntfsls/ntfscat.
struct FinalState {
  std::string layout;
  std::map<std::string, std::string> objects;
  std::vector<std::string> versions;
  std::string wim_sha;
  bool operator==(const FinalState&) const = default;
};

class ApplyCrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const char* v : {"v1", "v2"})
      ASSERT_NO_FATAL_FAILURE(MakeTestWim(*dir_ / (std::string(v) + ".wim"), "--size-mb 24"));
    // The starting point: version 1 installed on a GPT disk.
    MakeWindowsDisk(*dir_ / "base.img", "--label gpt --fill-mb 20");
    auto r = Agent({"apply", *dir_ / "base.img", "--image", *dir_ / "v1.wim", "--version", "1",
                    "--size", "512M", "--state-dir", *dir_ / "base-state"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Copy("reference");
    r = Upgrade("reference", "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_ = new FinalState(Read("reference"));
    ASSERT_EQ(reference_->versions, std::vector<std::string>{"2"});
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete dir_;
  }
  static void Copy(const std::string& name) {
    ASSERT_EQ(
        Sh("cp --sparse=always " + Quote(*dir_ / "base.img") + " " +
           Quote(*dir_ / (name + ".img")) + " && rm -rf " + Quote(*dir_ / (name + "-state")) +
           " && cp -a " + Quote(*dir_ / "base-state") + " " + Quote(*dir_ / (name + "-state")))
            .exit_code,
        0);
  }
  static CommandResult Upgrade(const std::string& name, const std::string& crash_at) {
    return Agent({"apply", *dir_ / (name + ".img"), "--image", *dir_ / "v2.wim", "--version", "2",
                  "--state-dir", *dir_ / (name + "-state")},
                 crash_at.empty() ? "" : "LIFEBOAT_TEST_CRASH_AT=" + Quote(crash_at));
  }
  static FinalState Read(const std::string& name) {
    const std::string disk = *dir_ / (name + ".img");
    FinalState s;
    SfTable t = Sfdisk(disk);
    for (const auto& p : t.partitions)
      s.layout += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.uuid + "\n";
    const std::string store = *dir_ / (name + ".bcd");
    EXPECT_TRUE(CopyStoreOut(disk, store));
    s.objects = StoreObjects(store);
    const std::optional<SfPartition> lifeboat = Named(t, "Lifeboat");
    if (!lifeboat) return s;
    s.versions = NtfsLs(disk, lifeboat->start * 512, lifeboat->size * 512, "/Recovery/Lifeboat");
    const std::string wim = *dir_ / (name + "-boot.wim");
    if (NtfsCat(disk, lifeboat->start * 512, lifeboat->size * 512, "/Recovery/Lifeboat/2/boot.wim",
                wim))
      s.wim_sha = FileSha(wim);
    return s;
  }

  // The invariant at the moment of a kill: the entry boots a complete, verified image.
  static void ExpectEntryBootsAVerifiedImage(const std::string& name) {
    const std::string disk = *dir_ / (name + ".img");
    const std::string store = *dir_ / (name + "-killed.bcd");
    ASSERT_TRUE(CopyStoreOut(disk, store));
    auto objects = StoreObjects(store);
    std::string loader;
    for (const auto& [guid, xml] : objects)
      if (xml.find("Lifeboat") != std::string::npos &&
          xml.find("value=\"270532611\"") != std::string::npos)
        loader = guid;  // the OS loader (type 0x10200003) whose description names Lifeboat
    ASSERT_FALSE(loader.empty()) << "Lifeboat's entry vanished";
    std::string path = RamdiskPath(HexBytes(ElementValue(store, loader, "11000001")));
    ASSERT_TRUE(path == "\\Recovery\\Lifeboat\\1\\boot.wim" ||
                path == "\\Recovery\\Lifeboat\\2\\boot.wim")
        << path;
    std::string version = path.substr(19, 1);
    const std::optional<SfPartition> lifeboat = Named(Sfdisk(disk), "Lifeboat");
    ASSERT_TRUE(lifeboat.has_value());
    const std::string wim = *dir_ / (name + "-entry.wim");
    ASSERT_TRUE(NtfsCat(disk, lifeboat->start * 512, lifeboat->size * 512,
                        "/Recovery/Lifeboat/" + version + "/boot.wim", wim));
    EXPECT_EQ(FileSha(wim), FileSha(*dir_ / ("v" + version + ".wim")))
        << "the entry points at version " << version << ", which is not completely written";
  }

  static TempDir* dir_;
  static FinalState* reference_;
};
TempDir* ApplyCrashTest::dir_ = nullptr;
FinalState* ApplyCrashTest::reference_ = nullptr;

TEST_P(ApplyCrashTest, ConvergesAfterKill) {
  const std::string point = GetParam();
  std::string name = point;
  for (char& c : name)
    if (c == ':') c = '_';
  Copy(name);
  auto killed = Upgrade(name, point);
  ASSERT_EQ(killed.exit_code, 128 + 9) << "did not stop at " << point << ": " << killed.err;
  ExpectEntryBootsAVerifiedImage(name);
  if (point == "apply:edit-bcd:backed-up") {
    // A store write cut short: half the file. The next run restores it from the journal.
    const std::string store = *dir_ / (name + "-torn.bcd");
    ASSERT_TRUE(CopyStoreOut(*dir_ / (name + ".img"), store));
    ASSERT_EQ(Sh("truncate -s 6000 " + Quote(store)).exit_code, 0);
    ASSERT_TRUE(CopyStoreIn(*dir_ / (name + ".img"), store));
  }
  auto resumed = Upgrade(name, "");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  FinalState state = Read(name);
  EXPECT_EQ(state.layout, reference_->layout);
  EXPECT_EQ(state.versions, reference_->versions);
  EXPECT_EQ(state.wim_sha, reference_->wim_sha);
  ASSERT_EQ(state.objects.size(), reference_->objects.size());
  for (const auto& [guid, xml] : reference_->objects) EXPECT_EQ(state.objects[guid], xml) << guid;
  auto status = Agent(
      {"status", *dir_ / (name + ".img"), "--verify", "--state-dir", *dir_ / (name + "-state")});
  EXPECT_EQ(status.exit_code, 0) << status.out;
}

std::vector<std::string> CrashPoints() {
  std::vector<std::string> points;
  for (const char* step : {"prepare-partition", "write-image", "verify-image", "edit-bcd",
                           "verify-bcd", "remove-old", "record"}) {
    points.push_back(std::string("apply:") + step + ":before");
    points.push_back(std::string("apply:") + step + ":after");
  }
  points.push_back("apply:write-image:chunk:1");
  points.push_back("apply:write-image:chunk:2");
  points.push_back("apply:edit-bcd:backed-up");
  return points;
}

INSTANTIATE_TEST_SUITE_P(EveryStep, ApplyCrashTest, ::testing::ValuesIn(CrashPoints()),
                         [](const auto& point_info) {
                           std::string n = point_info.param.substr(6);
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// A first install that must shrink Windows and move WinRE, killed inside the disk engine and
// inside the image write: the rerun finishes the job and no Windows file changed.
TEST(ApplyFreshInstallCrash, KilledInsidePrepareAndWriteThenResumed) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 40");
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(dir / "v.wim", "--size-mb 16"));
  const SfTable before = Sfdisk(disk);
  const auto& windows = before.partitions[2];
  const std::string files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
  const std::vector<std::string> args = {"apply",     disk, "--image",     dir / "v.wim",
                                         "--version", "1",  "--state-dir", dir / "state"};
  for (const char* point : {"1:after", "3:chunk:2", "apply:write-image:chunk:1"}) {
    auto killed = Agent(args, std::string("LIFEBOAT_TEST_CRASH_AT=") + point);
    ASSERT_EQ(killed.exit_code, 128 + 9) << point << ": " << killed.err;
  }
  auto resumed = Agent(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto status = Agent({"status", disk, "--verify", "--state-dir", dir / "state"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("Lifeboat installed"), std::string::npos) << status.out;
  const SfTable after = Sfdisk(disk);
  EXPECT_EQ(after.partitions[3].uuid, before.partitions[3].uuid);  // WinRE kept its GUID
  EXPECT_EQ(NtfsFileSums(disk, windows.start * 512, after.partitions[2].size * 512), files);
}

}  // namespace
}  // namespace lifeboat::test
