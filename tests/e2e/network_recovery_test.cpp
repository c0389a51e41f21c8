// Network recovery boots (controller/network_recovery.h) through a real controller process and
// lifeboatctl: the request, the machine's file in the network boot tree, the boot's own folder
// (its stores decoded with hivexsh), its start seen when a TFTP server would open the boot
// manager, once, audited; versions never mixed; a restart keeps the requests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "common/files.h"
#include "tests/e2e/controller_process.h"
#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUuid1 = "5b7c3e2a-1111-4222-8333-944455556666";
constexpr const char* kUuid2 = "6b7c3e2a-1111-4222-8333-944455556666";

// A file's text; empty while it does not exist yet (the tree is written by a thread).
std::string ReadText(const fs::path& path) { return ReadTextFile(path).value_or(""); }

class NetworkRecoveryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    for (const char* wim : {"v1.wim", "v2.wim"})
      ASSERT_NO_FATAL_FAILURE(MakeMediaTestWim(*wims_ / wim, *wims_ / "standins", "--size-mb 2"));
  }
  static void TearDownTestSuite() { delete wims_; }

  void SetUp() override {
    // The service environment's files are only copied into the tree here: none boots.
    for (const char* f : {"loaders/uefi/bootx64.efi", "loaders/uefi/grubx64.efi",
                          "loaders/bios/lifeboat.0", "vmlinuz", "initrd.img"}) {
      fs::create_directories((fs::path(dir_ / "env") / f).parent_path());
      std::ofstream(fs::path(dir_ / "env") / f) << f;
    }
    std::ofstream(dir_ / "fleet.csv")
        << "id,smbios_uuid,macs\nvm1," << kUuid1 << ",52:54:00:00:00:01\nvm2," << kUuid2
        << ",52:54:00:00:00:02\n";
    Start();
    ASSERT_EQ(
        Ctl(*controller_, "image publish " + Quote(*wims_ / "v1.wim") + " --version 1.0").exit_code,
        0);
    ASSERT_EQ(Ctl(*controller_, "machine import " + Quote(dir_ / "fleet.csv")).exit_code, 0);
  }
  void Start(const std::string& more_flags = "") {
    controller_ = std::make_unique<ControllerProcess>(
        dir_ / "controller", "--netboot-dir " + Quote(tftp_) + " --service-env " +
                                 Quote(dir_ / "env") + " --netboot-address 127.0.0.1:7443 " +
                                 more_flags);
    ASSERT_GT(controller_->port(), 0) << controller_->Log();
  }
  // What the machine's file in the tree sources, once it is `what` ("local", "recovery/"): the
  // token of its recovery folder, or "local". Waits up to 5 s (the tree is written by a thread).
  std::string Choice(const char* uuid, const std::string& what) {
    const fs::path file = tftp_ / "lifeboat/machines" / (std::string(uuid) + ".cfg");
    std::smatch m;
    for (int i = 0; i < 100; ++i) {
      const std::string text = ReadText(file);
      if (text.find("source /lifeboat/" + what) != std::string::npos) {
        static const std::regex kRecovery("source /lifeboat/recovery/([0-9a-f]{32})/boot.cfg");
        return std::regex_search(text, m, kRecovery) ? m[1].str() : "local";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << uuid << " is not sent to " << what << ": " << ReadText(file);
    return "";
  }
  fs::path Folder(const std::string& token) { return tftp_ / "lifeboat/recovery" / token; }

  static inline TempDir* wims_ = nullptr;
  TempDir dir_;
  fs::path tftp_ = fs::path(dir_.path()) / "tftp";
  std::unique_ptr<ControllerProcess> controller_;
};

TEST_F(NetworkRecoveryTest, AMachinesNextNetworkBootStartsTheImageOnceAndIsAudited) {
  EXPECT_EQ(Choice(kUuid1, "local"), "local");
  auto asked = Ctl(*controller_, "machine boot-recovery vm1 --network");
  ASSERT_EQ(asked.exit_code, 0) << asked.err;
  EXPECT_NE(asked.out.find("vm1's next network boot starts recovery image 1.0"), std::string::npos)
      << asked.out;
  const std::string token = Choice(kUuid1, "recovery/");
  ASSERT_EQ(token.size(), 32u);
  EXPECT_NE(ReadText(tftp_ / "lifeboat/machines/52:54:00:00:00:01.cfg").find(token),
            std::string::npos);
  EXPECT_EQ(Choice(kUuid2, "local"), "local") << "a machine without a request";
  EXPECT_FALSE(fs::exists(tftp_ / "lifeboat/machines/7b7c3e2a-1111-4222-8333-944455556666.cfg"));

  // The boot's folder: its stores load the WIM from the folder itself, the WIM is the image's.
  const fs::path folder = Folder(token);
  EXPECT_NE(ReadText(folder / "boot.cfg")
                .find("chainloader /lifeboat/recovery/" + token + "/bootmgfw.efi"),
            std::string::npos);
  for (const char* store : {"Boot/BCD", "EFI/Microsoft/Boot/BCD"}) {
    const auto device = HexBytes(
        ElementValue(folder / store, "{7619dcc9-fafe-11d9-b411-000476eba25f}", "11000001"));
    EXPECT_EQ(RamdiskPath(device), "\\lifeboat\\recovery\\" + token + "\\boot.wim") << store;
  }
  EXPECT_EQ(Sh("cmp " + Quote(folder / "boot.wim") + " " + Quote(*wims_ / "v1.wim")).exit_code, 0);

  // The machine loads its boot manager (as a TFTP server would open it): the request is over,
  // its next network boot goes to its local disk, and the folder stays for the boot in flight.
  ASSERT_EQ(Sh("cat " + Quote(folder / "bootmgfw.efi") + " >/dev/null").exit_code, 0);
  EXPECT_EQ(Choice(kUuid1, "local"), "local");
  EXPECT_TRUE(fs::exists(folder / "boot.wim"));
  auto audit = Ctl(*controller_, "audit list --json");
  ASSERT_EQ(audit.exit_code, 0);
  EXPECT_NE(audit.out.find("\"NetworkRecoveryBoot\""), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("started recovery image 1.0 from the network (bootmgfw.efi loaded)"),
            std::string::npos)
      << audit.out;
  EXPECT_NE(audit.out.find("machine vm1 (network)"), std::string::npos) << "the request's record";
  // Opening it again (a retry) records nothing more.
  Sh("cat " + Quote(folder / "bootmgfw.efi") + " >/dev/null; sleep 0.5");
  auto again = Ctl(*controller_, "audit list");
  size_t boots = 0;
  for (size_t at = 0; (at = again.out.find("NetworkRecoveryBoot", at)) != std::string::npos; ++at)
    ++boots;
  EXPECT_EQ(boots, 1u);

  // Refused: an unknown machine, an unknown version, --image without --network.
  EXPECT_EQ(Ctl(*controller_, "machine boot-recovery nobody --network").exit_code, 5);
  EXPECT_EQ(Ctl(*controller_, "machine boot-recovery vm1 --network --image 9.9").exit_code, 5);
  EXPECT_EQ(Ctl(*controller_, "machine boot-recovery vm1 --image 1.0").exit_code, 2);
  EXPECT_EQ(Choice(kUuid1, "local"), "local");
}

TEST_F(NetworkRecoveryTest, EachBootKeepsItsVersionAndARestartKeepsTheRequests) {
  ASSERT_EQ(Ctl(*controller_, "machine boot-recovery vm1 --network").exit_code, 0);
  const std::string first = Choice(kUuid1, "recovery/");
  ASSERT_EQ(Sh("cat " + Quote(Folder(first) / "pxeboot.n12") + " >/dev/null").exit_code, 0);
  EXPECT_EQ(Choice(kUuid1, "local"), "local");  // vm1 is loading 1.0

  // 2.0 is published and chosen while vm1 loads: vm1's folder is untouched, vm2 gets 2.0.
  ASSERT_EQ(
      Ctl(*controller_, "image publish " + Quote(*wims_ / "v2.wim") + " --version 2.0").exit_code,
      0);
  auto asked = Ctl(*controller_, "machine boot-recovery vm2 --network --json");
  ASSERT_EQ(asked.exit_code, 0);
  EXPECT_EQ(JsonShapeProblem(asked.out, "boot_recovery"), "");
  EXPECT_NE(asked.out.find("\"version\": \"2.0\""), std::string::npos) << asked.out;
  const std::string second = Choice(kUuid2, "recovery/");
  EXPECT_EQ(
      Sh("cmp " + Quote(Folder(first) / "boot.wim") + " " + Quote(*wims_ / "v1.wim")).exit_code, 0);
  EXPECT_EQ(
      Sh("cmp " + Quote(Folder(second) / "boot.wim") + " " + Quote(*wims_ / "v2.wim")).exit_code,
      0);

  // Asked again before it started: the new request replaces the old, whose folder goes.
  ASSERT_EQ(Ctl(*controller_, "machine boot-recovery vm2 --network --image 1.0").exit_code, 0);
  const std::string third = Choice(kUuid2, std::string("recovery/"));
  for (int i = 0; i < 50 && third == second; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(third, second);
  EXPECT_FALSE(fs::exists(Folder(second)));
  EXPECT_TRUE(fs::exists(Folder(first))) << "vm1's boot in flight keeps its folder";

  // A restart: vm2's request stands, in a new folder; vm1 still boots its local disk.
  controller_->Kill();
  Start();
  std::string after;
  for (int i = 0; i < 100; ++i) {
    after = Choice(kUuid2, "recovery/");
    if (after != third) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(after, third);
  EXPECT_TRUE(fs::exists(Folder(after) / "boot.wim"));
  EXPECT_FALSE(fs::exists(Folder(third)));
  EXPECT_EQ(Choice(kUuid1, "local"), "local");
}

// The alternative loader: the image's ISO over the controller's HTTP side, booted by iPXE.
TEST_F(NetworkRecoveryTest, AnIsoBootIsServedOverHttpWithRanges) {
  // Refused: --iso without --network; a controller without --netboot-http.
  EXPECT_EQ(Ctl(*controller_, "machine boot-recovery vm1 --iso").exit_code, 2);
  auto refused = Ctl(*controller_, "machine boot-recovery vm1 --network --iso");
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("--netboot-http"), std::string::npos) << refused.err;
  EXPECT_EQ(Choice(kUuid1, "local"), "local");

  // With HTTP, but loaders without iPXE: refused, naming what is missing.
  controller_->Kill();
  Start("--netboot-http 127.0.0.1:0");
  refused = Ctl(*controller_, "machine boot-recovery vm1 --network --iso");
  EXPECT_NE(refused.err.find("bios/ipxe.lkrn"), std::string::npos) << refused.err;

  // With iPXE among the loaders: the folder holds the ISO, and BIOS GRUB starts iPXE on its URL.
  std::ofstream(dir_ / "env/loaders/bios/ipxe.lkrn") << "ipxe";
  controller_->Kill();
  Start("--netboot-http 127.0.0.1:0");
  std::smatch m;
  const std::string log = controller_->Log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("served over HTTP on port ([0-9]+)"))) << log;
  const std::string http_port = m[1].str();
  ASSERT_EQ(Ctl(*controller_, "machine boot-recovery vm1 --network --iso").exit_code, 0);
  const std::string token = Choice(kUuid1, "recovery/");
  const std::string url =
      "http://127.0.0.1:" + http_port + "/lifeboat/recovery/" + token + "/recovery.iso";
  EXPECT_NE(ReadText(Folder(token) / "boot.cfg")
                .find("linux16 /bios/ipxe.lkrn dhcp '&&' sanboot " + url + "\n"),
            std::string::npos)
      << ReadText(Folder(token) / "boot.cfg");
  EXPECT_EQ(ReadText(tftp_ / "bios/ipxe.lkrn"), "ipxe");
  EXPECT_FALSE(fs::exists(Folder(token) / "bootmgfw.efi")) << "an ISO boot serves no boot managers";
  // The ISO boots as a BIOS CD (read by xorriso), and is served in ranges, as iPXE reads it.
  auto catalog = Sh("xorriso -indev " + Quote(Folder(token) / "recovery.iso") +
                    " -report_el_torito plain 2>&1");
  EXPECT_NE(catalog.out.find("BIOS"), std::string::npos) << catalog.out;
  auto range = Sh("curl -s -o /dev/null -w '%{http_code} %{size_download}' -r 32768-34815 " + url);
  EXPECT_EQ(range.out, "206 2048");
  // Opening the ISO was the boot: the request is over, and audited (the table cuts the detail).
  EXPECT_EQ(Choice(kUuid1, "local"), "local");
  auto audit = Ctl(*controller_, "audit list");
  EXPECT_NE(audit.out.find("started recovery image 1.0 from the network (recovery.iso"),
            std::string::npos)
      << audit.out;
}

// The site-wide entry through lifeboatctl: published, shown and withdrawn in the documented JSON,
// refused with the documented exit codes, the menu in the machines' files, kept across a restart;
// a viewer may look but not publish.
TEST_F(NetworkRecoveryTest, ASiteWideEntryIsPublishedShownAndWithdrawnWithLifeboatctl) {
  auto none = Ctl(*controller_, "recovery-entry show --json");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(JsonShapeProblem(none.out, "recovery_entry"), "");
  EXPECT_NE(none.out.find("\"version\": \"\""), std::string::npos) << none.out;
  EXPECT_EQ(Ctl(*controller_, "recovery-entry withdraw").exit_code, 5);
  EXPECT_EQ(Ctl(*controller_, "recovery-entry publish --image 9.9").exit_code, 5);
  EXPECT_EQ(Ctl(*controller_, "recovery-entry publish --timeout 6m").exit_code, 2);
  EXPECT_EQ(Ctl(*controller_, "recovery-entry publish --timeout soon").exit_code, 2);
  auto viewer = Ctl(*controller_, "operator add desk --role viewer --json");
  ASSERT_EQ(viewer.exit_code, 0);
  const std::string token = Json(viewer.out)->getValue<std::string>("token");
  const std::string as_viewer = "LIFEBOAT_TOKEN=" + Quote(token) + " " + Quote(LIFEBOAT_CTL) +
                                " --controller " + controller_->address() + " --ca " +
                                Quote(controller_->data_dir() + "/ca.pem") + " recovery-entry ";
  EXPECT_EQ(Sh(as_viewer + "publish").exit_code, 6);

  auto published = Ctl(*controller_, "recovery-entry publish --timeout 10s --json");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(JsonShapeProblem(published.out, "recovery_entry"), "");
  EXPECT_NE(published.out.find("\"timeout_seconds\": 10"), std::string::npos) << published.out;
  auto shown = Sh(as_viewer + "show");
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.out.find("version    1.0"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(" by admin"), std::string::npos) << shown.out;
  const fs::path file = tftp_ / "lifeboat/machines" / (std::string(kUuid1) + ".cfg");
  std::smatch m;
  static const std::regex kMenu("configfile /lifeboat/recovery/([0-9a-f]{32})/menu.cfg");
  std::string text;
  for (int i = 0; i < 100 && !std::regex_search(text, m, kMenu); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = ReadText(file);
  }
  ASSERT_TRUE(std::regex_search(text, m, kMenu)) << text;
  EXPECT_NE(ReadText(Folder(m[1].str()) / "menu.cfg").find("set timeout=10\n"), std::string::npos);
  // The entry's stores boot the WIM from the entry's folder (decoded by hivexsh).
  const auto device = HexBytes(ElementValue(Folder(m[1].str()) / "EFI/Microsoft/Boot/BCD",
                                            "{7619dcc9-fafe-11d9-b411-000476eba25f}", "11000001"));
  EXPECT_EQ(RamdiskPath(device), "\\lifeboat\\recovery\\" + m[1].str() + "\\boot.wim");

  // A help desk request still goes first, for its one boot.
  ASSERT_EQ(Ctl(*controller_, "machine boot-recovery vm2 --network").exit_code, 0);
  EXPECT_EQ(Choice(kUuid2, "recovery/").size(), 32u);

  // A restart serves the entry again; withdrawn, the machines' files go back to the local disk.
  controller_->Kill();
  Start();
  EXPECT_NE(Ctl(*controller_, "recovery-entry show").out.find("version    1.0"), std::string::npos);
  auto withdrawn = Ctl(*controller_, "recovery-entry withdraw --json");
  ASSERT_EQ(withdrawn.exit_code, 0) << withdrawn.err;
  EXPECT_EQ(JsonShapeProblem(withdrawn.out, "recovery_entry"), "");
  for (int i = 0; i < 100 && ReadText(file) != "# vm1\nsource /lifeboat/local.cfg\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ReadText(file), "# vm1\nsource /lifeboat/local.cfg\n");
  auto audit = Ctl(*controller_, "audit list");
  EXPECT_NE(audit.out.find("SetSiteRecoveryEntry"), std::string::npos) << audit.out;

  // Retiring the image an entry offers withdraws the entry.
  ASSERT_EQ(Ctl(*controller_, "recovery-entry publish --image 1.0").exit_code, 0);
  ASSERT_EQ(Ctl(*controller_, "image retire 1.0").exit_code, 0);
  EXPECT_NE(Ctl(*controller_, "recovery-entry show").out.find("no site-wide recovery entry"),
            std::string::npos);
  EXPECT_EQ(Ctl(*controller_, "recovery-entry publish --image 1.0").exit_code, 3) << "retired";
}

}  // namespace
}  // namespace lifeboat::test
