// `apply`, `status` and `bcd boot-once` on real fixture disks whose ESP or System Reserved holds a
// real BCD store pointing at the disk's own partitions. Results are read back with tools Lifeboat
// did not write: sfdisk, hivexml/hivexsh, ntfscat/ntfsls, wimlib-imagex, sha256sum.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

const char* kBootMgr = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}";

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string FileSha(const std::string& path) {
  auto r = Sh("sha256sum " + Quote(path) + " | cut -d' ' -f1");
  return r.out.substr(0, 64);
}

class ApplyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const char* v : {"good", "bios-only"})
      MakeWim(std::string(v) + ".wim", std::string("--variant ") + v);
    MakeWim("v2.wim", "--variant good --name 'Lifeboat test PE 2'");
    // Larger than a chunk (8 MiB): written straight to its clusters and read back from them.
    MakeWim("large.wim", "--variant good --size-mb 20 --compress none");
  }
  static void TearDownTestSuite() { delete dir_; }
  static void MakeWim(const std::string& name, const std::string& options) {
    ASSERT_NO_FATAL_FAILURE(MakeTestWim(*dir_ / name, options));
  }
  static std::string Wim(const std::string& name) { return *dir_ / name; }

  CommandResult Apply(const std::string& disk, const std::string& wim, const std::string& version,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"apply", disk,          "--image",     wim,     "--version",
                                     version, "--state-dir", state_.path(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent(args);
  }
  std::string Store(const std::string& disk, const std::string& name) {
    std::string out = work_ / name;
    EXPECT_TRUE(CopyStoreOut(disk, out));
    return out;
  }

  static TempDir* dir_;
  TempDir work_;
  TempDir state_;
};
TempDir* ApplyTest::dir_ = nullptr;

TEST_F(ApplyTest, GptUefiWritesImageAndAddsTheEntryTouchingNothingElse) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 40");
  const SfTable before = Sfdisk(disk);
  const auto& windows = before.partitions[2];
  const std::string files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
  const auto objects_before = StoreObjects(Store(disk, "before.bcd"));
  ASSERT_GT(objects_before.size(), 10u);

  auto r = Apply(disk, Wim("good.wim"), "1.0");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto result = Json(r.out);
  EXPECT_EQ(result->getValue<std::string>("result"), "installed");
  EXPECT_EQ(result->getValue<std::string>("firmware"), "uefi");
  const std::string loader = result->getValue<std::string>("loader_guid");

  // Layout, by sfdisk.
  const SfTable after = Sfdisk(disk);
  const std::optional<SfPartition> lifeboat = Named(after, "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());
  EXPECT_EQ(lifeboat->type, "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC");
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  EXPECT_EQ(NtfsFileSums(disk, windows.start * 512, after.partitions[2].size * 512), files);

  // The image in the partition, by ntfscat and wimlib-imagex.
  const uint64_t off = lifeboat->start * 512, size = lifeboat->size * 512;
  ASSERT_TRUE(NtfsCat(disk, off, size, "/Recovery/Lifeboat/1.0/boot.wim", work_ / "back.wim"));
  EXPECT_EQ(FileSha(work_ / "back.wim"), FileSha(Wim("good.wim")));
  EXPECT_EQ(Sh("wimlib-imagex verify " + Quote(work_ / "back.wim")).exit_code, 0);
  ASSERT_TRUE(NtfsCat(disk, off, size, "/Recovery/Lifeboat/1.0/boot.sdi", work_ / "back.sdi"));
  ASSERT_EQ(Sh("wimlib-imagex extract " + Quote(Wim("good.wim")) +
               " 1 /Windows/Boot/DVD/EFI/boot.sdi --dest-dir=" + Quote(work_.path()) +
               " --no-acls >/dev/null")
                .exit_code,
            0);
  EXPECT_EQ(FileSha(work_ / "back.sdi"), FileSha(work_ / "boot.sdi"));

  // The store, by hivexml and hivexsh.
  const std::string store = Store(disk, "after.bcd");
  auto objects_after = StoreObjects(store);
  ASSERT_EQ(objects_after.size(), objects_before.size() + 2);
  for (const auto& [guid, xml] : objects_before) {
    if (guid == kBootMgr) continue;
    EXPECT_EQ(objects_after[guid], xml) << guid << " changed";
  }
  // {bootmgr}: only toolsdisplayorder gained the loader.
  auto tools = HexBytes(ElementValue(store, kBootMgr, "24000010"));
  std::string tools_text;
  for (size_t i = 0; i < tools.size(); i += 2)
    tools_text += tools[i] ? static_cast<char>(tools[i]) : '|';
  EXPECT_NE(tools_text.find(loader), std::string::npos) << tools_text;
  EXPECT_EQ(ElementValue(store, loader, "26000022"), "hex(3):01");  // winpe
  EXPECT_EQ(ElementValue(store, loader, "26000010"), "hex(3):01");  // detecthal
  auto device = HexBytes(ElementValue(store, loader, "11000001"));
  EXPECT_EQ(device, HexBytes(ElementValue(store, loader, "21000001")));
  EXPECT_EQ(RamdiskPath(device), "\\Recovery\\Lifeboat\\1.0\\boot.wim");
  // The RAM disk's parent is Lifeboat's partition: its GPT GUID and the disk's (bytes_le).
  auto guid_le = [](std::string g) {
    std::string h;
    for (char c : g)
      if (c != '-') h += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<uint8_t> b;
    for (int i = 0; i < 16; ++i)
      b.push_back(static_cast<uint8_t>(std::stoul(h.substr(2 * i, 2), nullptr, 16)));
    return std::vector<uint8_t>{b[3], b[2], b[1],  b[0],  b[5],  b[4],  b[7],  b[6],
                                b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]};
  };
  EXPECT_EQ(std::vector<uint8_t>(device.begin() + 0x54, device.begin() + 0x64),
            guid_le(lifeboat->uuid));
  EXPECT_EQ(std::vector<uint8_t>(device.begin() + 0x6c, device.begin() + 0x7c), guid_le(after.id));
  // hivexsh prints strings quoted, with backslashes doubled.
  EXPECT_EQ(ElementValue(store, loader, "12000002"), R"("\\Windows\\System32\\boot\\winload.efi")");
  EXPECT_EQ(ElementValue(store, loader, "22000002"), R"("\\windows")");

  auto status = Agent({"status", disk, "--verify", "--json", "--state-dir", state_.path()});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  auto s = Json(status.out);
  EXPECT_EQ(s->getValue<std::string>("state"), "installed");
  EXPECT_EQ(s->getObject("installed")->getValue<std::string>("version"), "1.0");
  EXPECT_TRUE(s->getObject("installed")->getValue<bool>("hash_checked"));
}

TEST_F(ApplyTest, SameVersionAgainChangesNothing) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  ASSERT_EQ(Apply(disk, Wim("good.wim"), "1.0").exit_code, 0);
  const std::string sum = ImageChecksum(disk);
  auto r = Apply(disk, Wim("good.wim"), "1.0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r.out)->getValue<std::string>("result"), "unchanged");
  EXPECT_EQ(ImageChecksum(disk), sum);
  // The same version with other bytes is refused: versions name one image.
  auto clash = Apply(disk, Wim("v2.wim"), "1.0");
  EXPECT_EQ(clash.exit_code, 3) << clash.out;
  EXPECT_NE(clash.out.find("different image"), std::string::npos) << clash.out;
  EXPECT_EQ(ImageChecksum(disk), sum);
}

TEST_F(ApplyTest, UpgradeReplacesTheEntryInPlaceAndRemovesTheOldVersion) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  auto first = Apply(disk, Wim("good.wim"), "1.0");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto objects_v1 = StoreObjects(Store(disk, "v1.bcd"));
  auto second = Apply(disk, Wim("v2.wim"), "2.0");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto result = Json(second.out);
  EXPECT_EQ(result->getValue<std::string>("result"), "upgraded");
  EXPECT_EQ(result->getValue<std::string>("previous_version"), "1.0");
  EXPECT_EQ(result->getValue<std::string>("loader_guid"),
            Json(first.out)->getValue<std::string>("loader_guid"));

  const std::string store = Store(disk, "v2.bcd");
  auto objects_v2 = StoreObjects(store);
  EXPECT_EQ(objects_v2.size(), objects_v1.size());  // replaced, not added
  const std::string loader = result->getValue<std::string>("loader_guid");
  for (const auto& [guid, xml] : objects_v1) {
    if (xml.find("Lifeboat") != std::string::npos || guid == loader) continue;
    EXPECT_EQ(objects_v2[guid], xml) << guid << " changed";
  }
  EXPECT_EQ(RamdiskPath(HexBytes(ElementValue(store, loader, "11000001"))),
            "\\Recovery\\Lifeboat\\2.0\\boot.wim");
  const std::optional<SfPartition> lifeboat = Named(Sfdisk(disk), "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());
  EXPECT_EQ(NtfsLs(disk, lifeboat->start * 512, lifeboat->size * 512, "/Recovery/Lifeboat"),
            std::vector<std::string>{"2.0"});
}

TEST_F(ApplyTest, MbrBiosEntriesFollowTheMovedWinRePartition) {
  const std::string disk = work_ / "mbr.img";
  // No free space: Windows is shrunk and WinRE moved down, so its byte offset changes.
  MakeWindowsDisk(disk, "--label mbr --disk-size 4G --windows-size 3700M --fill-mb 20");
  const SfTable before = Sfdisk(disk);
  const uint64_t winre_before = before.partitions[2].start * 512;
  const auto objects_before = StoreObjects(Store(disk, "before.bcd"));

  auto r = Apply(disk, Wim("bios-only.wim"), "7");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(Json(r.out)->getValue<std::string>("firmware"), "bios");
  const SfTable after = Sfdisk(disk);
  const uint64_t winre_after = after.partitions[2].start * 512;
  ASSERT_NE(winre_after, winre_before);
  ASSERT_EQ(after.partitions.size(), 4u);
  EXPECT_EQ(after.partitions[3].type, "27");

  const std::string store = Store(disk, "after.bcd");
  const std::string winre_loader = "{3c32c4e7-f36e-11e2-8548-986c4e43b52a}";
  const std::string winre_options = "{3c32c4e8-f36e-11e2-8548-986c4e43b52a}";
  auto offset_at = [](const std::vector<uint8_t>& b, size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{b[at + i]} << (8 * i);
    return v;
  };
  // WinRE's RAM disk parent (0x54) and its boot.sdi device (0x20) now name the new offset.
  EXPECT_EQ(offset_at(HexBytes(ElementValue(store, winre_loader, "11000001")), 0x54), winre_after);
  EXPECT_EQ(offset_at(HexBytes(ElementValue(store, winre_options, "31000003")), 0x20), winre_after);
  // Lifeboat's entry: winload.exe, RAM disk on partition 4 by byte offset and disk signature.
  const std::string loader = Json(r.out)->getValue<std::string>("loader_guid");
  auto device = HexBytes(ElementValue(store, loader, "11000001"));
  EXPECT_EQ(offset_at(device, 0x54), after.partitions[3].start * 512);
  EXPECT_EQ(device[0x68], 1);  // MBR
  uint32_t signature =
      device[0x6c] | device[0x6d] << 8 | device[0x6e] << 16 | uint32_t{device[0x6f]} << 24;
  EXPECT_EQ(signature, std::stoul(after.id, nullptr, 16));
  // Windows' own loader (on partition 2, which did not move) is untouched.
  const std::string windows_loader = "{40a5a38e-1d81-11e3-806a-cb00aeb9e05c}";
  EXPECT_EQ(StoreObjects(store)[windows_loader], objects_before.at(windows_loader));
}

TEST_F(ApplyTest, LinkPoliciesAndBootOnce) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  auto r = Apply(disk, Wim("good.wim"), "1", {"--link", "recovery-sequence"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string loader = Json(r.out)->getValue<std::string>("loader_guid");
  std::string store = Store(disk, "rs.bcd");
  // The default Windows loader of this store is {17d1a947-...}.
  auto sequence =
      HexBytes(ElementValue(store, "{17d1a947-6ebc-11e3-92e2-9e90a5a36f6e}", "14000008"));
  std::string text;
  for (size_t i = 0; i < sequence.size(); i += 2)
    text += sequence[i] ? static_cast<char>(sequence[i]) : '|';
  EXPECT_EQ(text, loader + "||");

  auto once = Agent({"bcd", "boot-once", disk, "--state-dir", state_.path()});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  store = Store(disk, "once.bcd");
  auto boot_sequence = HexBytes(ElementValue(store, kBootMgr, "24000002"));
  text.clear();
  for (size_t i = 0; i < boot_sequence.size(); i += 2)
    text += boot_sequence[i] ? static_cast<char>(boot_sequence[i]) : '|';
  EXPECT_EQ(text, loader + "||");

  auto show = Agent({"bcd", "show", store, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"bootsequence\""), std::string::npos);
}

// The agent daemon's way: the hash its signed assignment names proves the bytes as they are
// written, so only the WIM's metadata is read before the write (one pass over the image).
TEST_F(ApplyTest, ATrustedHashIsProvedWhileWriting) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const std::string sha = FileSha(Wim("large.wim"));
  auto r = Apply(disk, Wim("large.wim"), "1.0", {"--sha256", sha, "--events"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("lifeboat-event check-image succeeded 0 0 metadata checked"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Json(r.out)->getObject("image")->getValue<std::string>("sha256"), sha);
  const auto lifeboat = Named(Sfdisk(disk), "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());
  ASSERT_TRUE(NtfsCat(disk, lifeboat->start * 512, lifeboat->size * 512,
                      "/Recovery/Lifeboat/1.0/boot.wim", work_ / "back.wim"));
  EXPECT_EQ(FileSha(work_ / "back.wim"), sha);
  // The hash may be given in capitals; what is not 64 hex digits is refused before anything.
  auto again = Apply(disk, Wim("large.wim"), "1.0", {"--sha256", Upper(sha)});
  ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
  EXPECT_EQ(Json(again.out)->getValue<std::string>("result"), "unchanged");
  auto bad = Apply(disk, Wim("large.wim"), "1.0", {"--sha256", sha.substr(1)});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE((bad.out + bad.err).find("64 hex digits"), std::string::npos) << bad.out << bad.err;
}

// Bytes that are not the ones the trusted hash names (a file changed or damaged after it was
// downloaded) are found by the write itself: the copy is removed and the boot entry never added.
TEST_F(ApplyTest, BytesThatDoNotMatchTheTrustedHashAreRemovedAndNotBooted) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const SfTable before = Sfdisk(disk);
  const std::string files =
      NtfsFileSums(disk, before.partitions[2].start * 512, before.partitions[2].size * 512);
  const auto objects_before = StoreObjects(Store(disk, "before.bcd"));
  const std::string other = FileSha(Wim("good.wim"));  // a real image's hash, not this one's
  auto r = Apply(disk, Wim("large.wim"), "1.0", {"--sha256", other});
  ASSERT_NE(r.exit_code, 0) << r.out;
  auto error = Json(r.out)->getObject("error");
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->getValue<std::string>("code"), "verification") << r.out;
  EXPECT_NE(error->getValue<std::string>("message").find("as it was written, not the image's " +
                                                         other + "; the copy was removed"),
            std::string::npos)
      << r.out;
  const auto lifeboat = Named(Sfdisk(disk), "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());  // room was made (journalled); the image is not there
  EXPECT_EQ(NtfsLs(disk, lifeboat->start * 512, lifeboat->size * 512, "/Recovery/Lifeboat"),
            std::vector<std::string>{});
  EXPECT_EQ(StoreObjects(Store(disk, "after.bcd")), objects_before);
  const SfTable after = Sfdisk(disk);
  EXPECT_EQ(NtfsFileSums(disk, after.partitions[2].start * 512, after.partitions[2].size * 512),
            files);
  // The right hash then installs it.
  auto right = Apply(disk, Wim("large.wim"), "1.0", {"--sha256", FileSha(Wim("large.wim"))});
  ASSERT_EQ(right.exit_code, 0) << right.err << right.out;
  EXPECT_EQ(Json(right.out)->getValue<std::string>("result"), "installed");
}

TEST_F(ApplyTest, DryRunPrintsThePlanAndChangesNothing) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  const std::string sum = ImageChecksum(disk);
  auto r = Apply(disk, Wim("good.wim"), "1.0", {"--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto result = Json(r.out);
  EXPECT_EQ(result->getValue<std::string>("result"), "planned");
  auto plan = result->getObject("plan");
  ASSERT_TRUE(plan);
  std::vector<std::string> kinds;
  const auto plan_steps = plan->getArray("steps");
  for (const auto& step : *plan_steps)
    kinds.push_back(step.extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("kind"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"prepare-partition", "write-image", "verify-image",
                                             "edit-bcd", "verify-bcd", "remove-old", "record"}));
  EXPECT_EQ(result->getArray("steps")->size(), kinds.size());
  EXPECT_EQ(ImageChecksum(disk), sum);

  // The run that follows executes exactly the plan --dry-run printed: the journal stores it.
  auto run = Apply(disk, Wim("good.wim"), "1.0");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto stored = Sh("sqlite3 " + Quote(state_ / "journal.db") +
                   " 'SELECT plan_json FROM apply_runs ORDER BY id DESC LIMIT 1'");
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  std::ostringstream printed, journalled;
  Poco::JSON::Stringifier::stringify(Json(stored.out), journalled);
  Poco::JSON::Stringifier::stringify(plan, printed);
  EXPECT_EQ(journalled.str(), printed.str());
  std::vector<std::string> done;
  const auto ran = Json(run.out);
  const auto ran_steps = ran->getArray("steps");
  for (const auto& line : *ran_steps) {
    const std::string text = line.toString();
    done.push_back(text.substr(0, text.find(':')));
  }
  EXPECT_EQ(done, kinds);
}

TEST_F(ApplyTest, StatusFindsADamagedImage) {
  const std::string disk = work_ / "gpt.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  ASSERT_EQ(Apply(disk, Wim("good.wim"), "1.0").exit_code, 0);
  const std::optional<SfPartition> lifeboat = Named(Sfdisk(disk), "Lifeboat");
  ASSERT_TRUE(lifeboat.has_value());
  // Flip bytes inside boot.wim through an ntfs-3g mount (its size stays the same).
  auto flip = Sh("dev=$(losetup -f --show -o " + std::to_string(lifeboat->start * 512) +
                 " --sizelimit " + std::to_string(lifeboat->size * 512) + " " + Quote(disk) +
                 ") && m=$(mktemp -d) && ntfs-3g $dev $m && printf 'XXXX' | dd "
                 "of=$m/Recovery/Lifeboat/1.0/boot.wim "
                 "bs=1 seek=100000 conv=notrunc status=none; umount $m; losetup -d $dev; rmdir $m");
  ASSERT_EQ(flip.exit_code, 0) << flip.err;
  auto quick = Agent({"status", disk, "--json", "--state-dir", state_.path()});
  EXPECT_EQ(quick.exit_code, 0) << quick.out;  // sizes match: only hashing finds it
  auto deep = Agent({"status", disk, "--verify", "--json", "--state-dir", state_.path()});
  EXPECT_EQ(deep.exit_code, 7) << deep.out;
  EXPECT_EQ(Json(deep.out)->getValue<std::string>("state"), "damaged");
  // apply repairs it: the version folder is rewritten and verified.
  auto repair = Apply(disk, Wim("good.wim"), "1.0");
  EXPECT_EQ(repair.exit_code, 0) << repair.err;
}

}  // namespace
}  // namespace lifeboat::test
