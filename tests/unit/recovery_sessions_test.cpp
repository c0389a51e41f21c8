// Network recovery sessions (controller/recovery_sessions.h) on a real tree: folders written from
// a real WIM with the media tests' stand-in boot files, their opening seen through inotify.
#include "controller/recovery_sessions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

namespace fs = std::filesystem;
using namespace lifeboat::test;  // NOLINT(google-build-using-namespace): the test helpers

class RecoverySessionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(
        MakeMediaTestWim(*work_ / "image.wim", *work_ / "standins", "--size-mb 1"));
  }
  static void TearDownTestSuite() { delete work_; }

  void SetUp() override {
    fs::create_directories(tree_ / "lifeboat/recovery/left-by-an-earlier-run");
    fs::create_directories(tree_ / "52-54-00-00-00-09/uefi");  // a client root left behind
    // The shared tree's loaders and GRUB's folder, as NetbootTree writes them.
    fs::create_directories(tree_ / "uefi");
    fs::create_directories(tree_ / "bios");
    fs::create_directories(tree_ / "grub");
    std::ofstream(tree_ / "uefi/bootx64.efi") << "shared shim";
    std::ofstream(tree_ / "uefi/grubx64.efi") << "shared grub";
    std::ofstream(tree_ / "bios/lifeboat.0") << "shared bios grub";
    std::ofstream(tree_ / "grub/grub.cfg") << "shared grub.cfg";
    auto sessions =
        RecoverySessions::Start(tree_, [this](const RecoverySession& s, const std::string& file) {
          std::lock_guard lock(mutex_);
          started_.push_back(s.machine_id + " " + s.version + " " + file);
          changed_.notify_all();
        });
    ASSERT_TRUE(sessions) << sessions.error().message;
    sessions_ = std::move(*sessions);
  }
  media::MediumSource Source(const std::string& version) {
    auto source =
        media::ReadMediumSource(*work_ / "image.wim", version, media::FirmwareChoice::kBoth,
                                media::MediumKind::kNetwork, false);
    EXPECT_TRUE(source) << source.error().message;
    return *source;
  }
  // The boots started once `count` were seen, or after a second.
  std::vector<std::string> Started(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(1), [&] { return started_.size() >= count; });
    return started_;
  }
  void Read(const fs::path& file) {
    ASSERT_EQ(Sh("cat " + Quote(file) + " >/dev/null").exit_code, 0);
  }
  static std::string Content(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  static inline TempDir* work_ = nullptr;
  TempDir dir_;
  fs::path tree_ = fs::path(dir_.path()) / "tftp";
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> started_;
  std::unique_ptr<RecoverySessions> sessions_;
};

TEST_F(RecoverySessionsTest, EachBootGetsAFolderOfItsOwnAndItsStartIsSeen) {
  EXPECT_FALSE(fs::exists(tree_ / "lifeboat/recovery/left-by-an-earlier-run"));
  auto first = sessions_->Open("vm1", {}, Source("1.0"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(std::regex_match(first->token, std::regex("[0-9a-f]{32}"))) << first->token;
  EXPECT_TRUE(first->uefi && first->bios);
  const fs::path folder = tree_ / RecoverySessions::Folder(first->token);
  for (const char* file : {"boot.cfg", "bootmgfw.efi", "pxeboot.n12", "bootmgr.exe", "boot.sdi",
                           "boot.wim", "Boot/BCD", "EFI/Microsoft/Boot/BCD"})
    EXPECT_TRUE(fs::is_regular_file(folder / file)) << file;
  // The stores load the WIM from this folder, as TFTP clients name it.
  const auto device = HexBytes(ElementValue(folder / "EFI/Microsoft/Boot/BCD",
                                            "{7619dcc9-fafe-11d9-b411-000476eba25f}", "11000001"));
  EXPECT_EQ(RamdiskPath(device), "\\lifeboat\\recovery\\" + first->token + "\\boot.wim");

  // A second request, of another version, gets another folder; the first is untouched.
  auto second = sessions_->Open("vm2", {}, Source("2.0"));
  ASSERT_TRUE(second);
  EXPECT_NE(second->token, first->token);

  // What GRUB reads first, and the image, are not the boot manager starting.
  Read(folder / "boot.cfg");
  Read(folder / "boot.wim");
  EXPECT_TRUE(Started(1).empty());
  Read(folder / "bootmgfw.efi");
  Read(tree_ / RecoverySessions::Folder(second->token) / "pxeboot.n12");
  EXPECT_EQ(Started(2), (std::vector<std::string>{"vm1 1.0 bootmgfw.efi", "vm2 2.0 pxeboot.n12"}));

  // Closed: the folder is gone and its files are served no more; the other stays.
  sessions_->Close(first->token);
  EXPECT_FALSE(fs::exists(folder));
  EXPECT_TRUE(fs::exists(tree_ / RecoverySessions::Folder(second->token) / "boot.wim"));
  sessions_->Close("not-a-token");
}

// dnsmasq's per-client roots (controller/client_roots.h), read as dnsmasq reads them: through
// their links.
TEST_F(RecoverySessionsTest, EachMacGetsARootWhoseFirstFileIsTheBootsBootManager) {
  EXPECT_FALSE(fs::exists(tree_ / "52-54-00-00-00-09")) << "a root left by an earlier run";
  const std::vector<std::string> macs = {"52:54:00:00:00:01", "52:54:00:00:00:02"};
  auto session = sessions_->Open("vm1", macs, Source("1.0"));
  ASSERT_TRUE(session) << session.error().message;
  const fs::path folder = tree_ / RecoverySessions::Folder(session->token);
  // Where each link leads (resolved without opening: opening the boot manager is the boot
  // starting).
  const auto leads_to = [](const fs::path& link, const fs::path& file) {
    return fs::canonical(link) == fs::canonical(file);
  };
  for (const char* name : {"52-54-00-00-00-01", "52-54-00-00-00-02"}) {
    const fs::path root = tree_ / name;
    EXPECT_TRUE(leads_to(root / "uefi/bootx64.efi", folder / "bootmgfw.efi")) << name;
    EXPECT_TRUE(leads_to(root / "bios/lifeboat.0", folder / "pxeboot.n12")) << name;
    EXPECT_TRUE(leads_to(root / "bios/bootmgr.exe", folder / "bootmgr.exe")) << name;
    EXPECT_TRUE(leads_to(root / "Boot/BCD", folder / "EFI/Microsoft/Boot/BCD")) << name;
    EXPECT_EQ(Content(root / "uefi/grubx64.efi"), "shared grub") << name;
    EXPECT_EQ(Content(root / "grub/grub.cfg"), "shared grub.cfg") << name;
    // The WIM as the store names it, \lifeboat\recovery\<token>\boot.wim, from the root.
    EXPECT_TRUE(leads_to(root / RecoverySessions::Folder(session->token) / "boot.wim",
                         folder / "boot.wim"));
  }
  EXPECT_TRUE(Started(1).empty());
  // The firmware loading the boot manager through a root is the boot starting. Firmware opens it
  // twice (its size first): it still gets it, and BIOS's store.
  Read(tree_ / "52-54-00-00-00-02/bios/lifeboat.0");
  EXPECT_EQ(Started(1), std::vector<std::string>{"vm1 1.0 pxeboot.n12"});
  const fs::path root = tree_ / "52-54-00-00-00-01";
  EXPECT_TRUE(leads_to(root / "bios/lifeboat.0", folder / "pxeboot.n12"));
  EXPECT_TRUE(sessions_->Loading("vm1")) << "a new session now would change its \\Boot\\BCD";
  EXPECT_TRUE(leads_to(root / "Boot/BCD", folder / "Boot/BCD"));
  // Once its boot manager reads the store the next boot gets the shared loaders; this one goes on
  // with its store and bootmgr.exe.
  Read(tree_ / "52-54-00-00-00-02/Boot/BCD");
  for (int i = 0; i < 40 && fs::read_symlink(root / "uefi/bootx64.efi") != "../../uefi/bootx64.efi";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(sessions_->Loading("vm1"));
  EXPECT_EQ(Content(root / "uefi/bootx64.efi"), "shared shim");
  EXPECT_EQ(Content(root / "bios/lifeboat.0"), "shared bios grub");
  EXPECT_TRUE(leads_to(root / "Boot/BCD", folder / "Boot/BCD"));
  EXPECT_TRUE(leads_to(root / "bios/bootmgr.exe", folder / "bootmgr.exe"));

  // A new request of the same machine takes its roots; closing the old one leaves them.
  auto next = sessions_->Open("vm1", macs, Source("2.0"));
  ASSERT_TRUE(next);
  sessions_->Close(session->token);
  EXPECT_TRUE(leads_to(root / "uefi/bootx64.efi",
                       tree_ / RecoverySessions::Folder(next->token) / "bootmgfw.efi"));
  sessions_->Close(next->token);
  EXPECT_FALSE(fs::exists(root));
  EXPECT_FALSE(fs::exists(tree_ / "52-54-00-00-00-02"));
  EXPECT_TRUE(fs::exists(tree_ / "uefi/bootx64.efi"));
}

TEST(ClientRootLinks, PointTheFirstFilesAndTheStoreAtTheBootUntilItIsUnderWay) {
  const SharedTree shared{
      {"bios", "grub", "lifeboat", "uefi"}, {"bootx64.efi", "grubx64.efi"}, {"lifeboat.0"}};
  const std::string f = "lifeboat/recovery/0123";
  using Links = std::map<std::string, std::string>;
  EXPECT_EQ(ClientRootLinks({f, true, true, true, false}, shared),
            (Links{{"Boot", "../" + f + "/EFI/Microsoft/Boot"},
                   {"bios/bootmgr.exe", "../../" + f + "/bootmgr.exe"},
                   {"bios/lifeboat.0", "../../" + f + "/pxeboot.n12"},
                   {"grub", "../grub"},
                   {"lifeboat", "../lifeboat"},
                   {"restart.cfg", "../lifeboat/restart.cfg"},  // (the site-wide entry's)
                   {"uefi/bootx64.efi", "../../" + f + "/bootmgfw.efi"},
                   {"uefi/grubx64.efi", "../../uefi/grubx64.efi"}}));
  EXPECT_EQ(ClientRootLinks({f, true, true, false, true}, shared),
            (Links{{"Boot", "../" + f + "/Boot"},
                   {"bios/bootmgr.exe", "../../" + f + "/bootmgr.exe"},
                   {"bios/lifeboat.0", "../../bios/lifeboat.0"},
                   {"grub", "../grub"},
                   {"lifeboat", "../lifeboat"},
                   {"uefi/bootx64.efi", "../../uefi/bootx64.efi"},
                   {"uefi/grubx64.efi", "../../uefi/grubx64.efi"}}));
  // An image without BIOS boot files leaves the BIOS loader shared (GRUB: the local disk).
  const auto uefi_only = ClientRootLinks({f, true, false, true, true}, shared);
  EXPECT_EQ(uefi_only.at("bios/lifeboat.0"), "../../bios/lifeboat.0");
  EXPECT_FALSE(uefi_only.contains("bios/bootmgr.exe"));
  EXPECT_EQ(uefi_only.at("Boot"), "../" + f + "/EFI/Microsoft/Boot");
  EXPECT_EQ(ClientRootLinks({f, false, true, true, false}, shared).at("Boot"), "../" + f + "/Boot");
}

TEST(ClientRootNames, AreDnsmasqsFormOfTheMac) {
  EXPECT_EQ(ClientRootName("52:54:00:ab:cd:ef"), "52-54-00-ab-cd-ef");
  EXPECT_TRUE(IsClientRootName("52-54-00-ab-cd-ef"));
  for (const char* other : {"uefi", "lifeboat", "52-54-00-ab-cd", "52:54:00:ab:cd:ef", ".x"})
    EXPECT_FALSE(IsClientRootName(other)) << other;
}

TEST(RecoveryBootCfg, StartsEachFirmwaresBootManagerFromTheFolderElseTheLocalDisk) {
  const RecoverySession session{
      "0123456789abcdef0123456789abcdef", "vm1", "2.5", true, true, {}, false, false, false, {}};
  EXPECT_EQ(RenderRecoveryBootCfg(session),
            "# Written by lifeboat-controller: machine vm1's network recovery boot of version 2.5 "
            "(controller/recovery_sessions.h).\n"
            "echo \"lifeboat-netboot: starting the recovery image 2.5 from the network\"\n"
            "if [ \"$grub_platform\" = efi ]; then\n"
            "  chainloader /lifeboat/recovery/0123456789abcdef0123456789abcdef/bootmgfw.efi\n"
            "  boot\n"
            "fi\n"
            "if [ \"$grub_platform\" = pc ]; then\n"
            "  pxechainloader /lifeboat/recovery/0123456789abcdef0123456789abcdef/pxeboot.n12\n"
            "  boot\n"
            "fi\n"
            "echo \"lifeboat-netboot: the recovery image did not start on this machine\"\n"
            "source /lifeboat/local.cfg\n");
  RecoverySession iso = session;
  iso.iso_url = "http://10.0.0.5:8080/lifeboat/recovery/0123/recovery.iso";
  EXPECT_NE(RenderRecoveryBootCfg(iso).find(
                "if [ \"$grub_platform\" = pc ]; then\n"
                "  linux16 /bios/ipxe.lkrn dhcp '&&' sanboot "
                "http://10.0.0.5:8080/lifeboat/recovery/0123/recovery.iso\n  boot\nfi\n"),
            std::string::npos)
      << RenderRecoveryBootCfg(iso);
  EXPECT_EQ(RenderRecoveryBootCfg(iso).find("chainloader"), std::string::npos);
  RecoverySession uefi_only = session;
  uefi_only.bios = false;
  EXPECT_EQ(RenderRecoveryBootCfg(uefi_only).find("pxechainloader"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::controller
