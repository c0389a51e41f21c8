// The site-wide network recovery entry (controller/site_entry.h) on a real tree and a real
// controller database: the machines' menus and tickets as the tree renders them, a choice seen
// through inotify (audited, the machine's client roots given the entry's store), a version switch
// that keeps the folder in use until nothing opened it for the lease, withdrawal and restart.
#include "controller/site_entry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/files.h"
#include "controller/fleet_store.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

namespace fs = std::filesystem;
using namespace lifeboat::test;  // NOLINT(google-build-using-namespace): the test helpers

constexpr const char* kUuid1 = "5b7c3e2a-1111-4222-8333-944455556666";
constexpr const char* kUuid2 = "6b7c3e2a-1111-4222-8333-944455556666";

MachineIdentity Id(const std::string& uuid, std::vector<std::string> macs) {
  return {uuid, std::move(macs), {}};
}

TEST(SiteMenuFiles, OnlyAcceptedMachinesWithNothingElseToBootGetTheMenuAndTheirTickets) {
  const SiteMenu site{"lifeboat/recovery/ssss", {{"vm1", "t1"}, {"vm2", "t2"}, {"vm3", "t3"}}};
  auto files = RenderMachineFiles(
      {{"vm1", Id(kUuid1, {"52:54:00:00:00:01"}), NetbootChoice::kLocalDisk},
       {"vm2", Id(kUuid2, {}), NetbootChoice::kServiceEnvironment},
       {"vm3", Id("", {"52:54:00:00:00:03"}), NetbootChoice::kRecovery, "rrrr"},
       {"vm4", Id("", {"52:54:00:00:00:04"}), NetbootChoice::kLocalDisk},  // no ticket yet
       {"pending x", Id("", {"52:54:00:00:00:05"}), NetbootChoice::kLocalDisk, "", true}},
      site);
  const std::string menu =
      "# vm1\nset lifeboat_ticket=t1\nexport lifeboat_ticket\n"
      "configfile /lifeboat/recovery/ssss/menu.cfg\nsource /lifeboat/local.cfg\n";
  EXPECT_EQ(files.at(std::string(kUuid1) + ".cfg"), menu);
  EXPECT_EQ(files.at("52:54:00:00:00:01.cfg"), menu);
  for (const char* platform : {"efi", "pc"}) {
    const std::string name = SiteTicketFile("t1", platform);
    EXPECT_EQ(name, std::string("entry-t1-") + platform + ".cfg");
    EXPECT_NE(files.at(name).find("\nsource /lifeboat/recovery/ssss/boot.cfg\n"),
              std::string::npos);
  }
  // UEFI restarts into the boot manager where a client root has restart.cfg; a BIOS chainloads.
  EXPECT_NE(files.at(SiteTicketFile("t1", "efi")).find("source /restart.cfg\nsource /lifeboat"),
            std::string::npos);
  EXPECT_EQ(files.at(SiteTicketFile("t1", "pc")).find("restart"), std::string::npos);
  EXPECT_EQ(files.at(std::string(kUuid2) + ".cfg"), "# vm2\nsource /lifeboat/service.cfg\n");
  EXPECT_EQ(files.at("52:54:00:00:00:03.cfg"), "# vm3\nsource /lifeboat/recovery/rrrr/boot.cfg\n");
  EXPECT_EQ(files.at("52:54:00:00:00:04.cfg"), "# vm4\nsource /lifeboat/local.cfg\n");
  EXPECT_EQ(files.at("52:54:00:00:00:05.cfg"), "# pending x\nsource /lifeboat/local.cfg\n");
  EXPECT_EQ(files.size(), 8u) << "tickets for vm1 only";
  EXPECT_EQ(RenderMachineFiles({{"vm1", Id(kUuid1, {}), NetbootChoice::kLocalDisk}}, {})
                .at(std::string(kUuid1) + ".cfg"),
            "# vm1\nsource /lifeboat/local.cfg\n");

  // The menu: the local disk first and by default; nothing can be edited.
  const std::string cfg = RenderSiteMenuCfg("2.0", 7);
  EXPECT_NE(cfg.find("set superusers=\"\"\nset default=0\nset timeout=7\n"), std::string::npos)
      << cfg;
  EXPECT_LT(cfg.find("source /lifeboat/local.cfg"), cfg.find("recovery image 2.0 (from"));
  EXPECT_NE(cfg.find("--hotkey=r --unrestricted {\n  source "
                     "/lifeboat/machines/entry-${lifeboat_ticket}-${grub_platform}.cfg\n"),
            std::string::npos)
      << cfg;
}

class SiteEntryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    for (const char* wim : {"v1.wim", "v2.wim"})
      ASSERT_NO_FATAL_FAILURE(MakeMediaTestWim(*wims_ / wim, *wims_ / "standins", "--size-mb 1"));
  }
  static void TearDownTestSuite() { delete wims_; }

  void SetUp() override {
    for (const char* sub : {"uefi", "bios", "grub", "lifeboat/machines"})
      fs::create_directories(tree_ / sub);
    std::ofstream(tree_ / "uefi/bootx64.efi") << "shared shim";
    auto s = FleetStore::OpenSqlite(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    fleet_ = std::make_unique<Fleet>(*store_, dir_ / "data");
    admission_ = std::make_unique<Admission>(store_->identities(), *fleet_);
    access_ = std::make_unique<Access>(store_->access());
    ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "v1.wim"));
    auto rows = ParseImportCsv(std::string("id,smbios_uuid,macs\nvm1,") + kUuid1 +
                               ",52:54:00:00:00:01\nvm2," + kUuid2 + ",52:54:00:00:00:02\n");
    ASSERT_TRUE(rows);
    ASSERT_TRUE(admission_->Import(*rows));
    Start();
  }
  void TearDown() override { Stop(); }
  void Start() {
    auto sessions =
        RecoverySessions::Start(tree_, [](const RecoverySession&, const std::string&) {});
    ASSERT_TRUE(sessions) << sessions.error().message;
    sessions_ = std::move(*sessions);
    auto site = SiteEntry::Start(tree_, *sessions_, *admission_, *fleet_, *access_, kLease);
    ASSERT_TRUE(site) << site.error().message;
    site_ = std::move(*site);
  }
  void Stop() {
    site_.reset();
    sessions_.reset();
  }
  // The tree's machine files as the publisher renders them now.
  std::map<std::string, std::string> Render() {
    auto entries = admission_->NetbootEntries();
    EXPECT_TRUE(entries);
    const SiteMenu menu = site_->Offer(*entries);
    const auto files = RenderMachineFiles(*entries, menu);
    for (const auto& [name, content] : files)
      EXPECT_TRUE(WriteFileAtomically(tree_ / "lifeboat/machines" / name, content, 0644));
    folder_ = menu.folder;
    tickets_ = menu.tickets;
    return files;
  }
  // The boots audited, newest first, once there are `count`, or after two seconds.
  std::vector<AuditRecord> Boots(size_t count) {
    std::vector<AuditRecord> boots;
    for (int i = 0; i < 40 && boots.size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto log = access_->AuditLog({"", "NetworkRecoveryBoot", ""}, 0, 100);
      EXPECT_TRUE(log);
      boots = log->entries;
    }
    return boots;
  }

  static constexpr std::chrono::seconds kLease{2};
  static inline TempDir* wims_ = nullptr;
  TempDir dir_;
  fs::path tree_ = fs::path(dir_.path()) / "tftp";
  std::unique_ptr<FleetStore> store_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Access> access_;
  std::unique_ptr<RecoverySessions> sessions_;
  std::unique_ptr<SiteEntry> site_;
  std::string folder_;
  std::map<std::string, std::string> tickets_;
};

TEST_F(SiteEntryTest, AChoiceAtTheMachineIsAuditedAndItsBootManagerGetsTheEntrysStore) {
  EXPECT_EQ(Render().at(std::string(kUuid1) + ".cfg"), "# vm1\nsource /lifeboat/local.cfg\n");
  EXPECT_EQ(site_->Withdraw().error().code, ErrorCode::kNotFound);
  EXPECT_EQ(site_->Publish("", 301, "ann").error().field, "timeout_seconds");
  EXPECT_EQ(site_->Publish("9.9", 0, "ann").error().code, ErrorCode::kNotFound);

  auto published = site_->Publish("", 0, "ann");  // the newest, the default menu time
  ASSERT_TRUE(published) << published.error().message;
  EXPECT_EQ(published->version, "1.0");
  EXPECT_EQ(published->timeout_seconds, kDefaultSiteMenuSeconds);
  EXPECT_EQ(published->published_by, "ann");
  EXPECT_FALSE(published->published_at.empty());
  Render();
  ASSERT_FALSE(folder_.empty());
  EXPECT_NE(ReadTextFile(tree_ / folder_ / "menu.cfg").value_or("").find("set timeout=5\n"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(tree_ / folder_ / "EFI/Microsoft/Boot/BCD"));
  EXPECT_TRUE(fs::exists(tree_ / folder_ / "Boot/BCD"));

  // vm1 chooses it with UEFI: audited, and its client root's Boot is the entry's UEFI store.
  const std::string ticket = tickets_.at("vm1");
  ASSERT_EQ(Sh("cat " + Quote(tree_ / "lifeboat/machines" / SiteTicketFile(ticket, "efi")) +
               " >/dev/null")
                .exit_code,
            0);
  auto boots = Boots(1);
  ASSERT_EQ(boots.size(), 1u);
  EXPECT_EQ(boots[0].who, "ann");
  EXPECT_EQ(boots[0].target, "machine vm1");
  EXPECT_NE(boots[0].detail.find("chose recovery image 1.0"), std::string::npos) << boots[0].detail;
  EXPECT_NE(boots[0].detail.find("(UEFI)"), std::string::npos);
  EXPECT_EQ(Sh("cmp " + Quote(tree_ / "52-54-00-00-00-01/Boot/BCD") + " " +
               Quote(tree_ / folder_ / "EFI/Microsoft/Boot/BCD"))
                .exit_code,
            0);
  // UEFI restarts into the entry's boot manager: the firmware's first file, through restart.cfg.
  const fs::path root = tree_ / "52-54-00-00-00-01";
  EXPECT_EQ(fs::read_symlink(root / "uefi/bootx64.efi"), "../../" + folder_ + "/bootmgfw.efi");
  EXPECT_EQ(fs::read_symlink(root / "restart.cfg"), "../lifeboat/restart.cfg");
  EXPECT_TRUE(site_->Choosing("vm1", std::chrono::seconds(60)));
  EXPECT_FALSE(site_->Choosing("vm2", std::chrono::seconds(60)));
  // Once the restart's boot is under way, the shared loaders again; the store stays.
  site_->Sweep(std::chrono::seconds(0));
  EXPECT_EQ(fs::read_symlink(root / "uefi/bootx64.efi"), "../../uefi/bootx64.efi");
  EXPECT_FALSE(fs::is_symlink(root / "restart.cfg"));
  EXPECT_EQ(fs::read_symlink(root / "Boot"), "../" + folder_ + "/EFI/Microsoft/Boot");
  // With a BIOS, the BIOS store.
  ASSERT_EQ(
      Sh("cat " + Quote(tree_ / "lifeboat/machines" / SiteTicketFile(ticket, "pc")) + " >/dev/null")
          .exit_code,
      0);
  boots = Boots(2);
  ASSERT_EQ(boots.size(), 2u);
  EXPECT_NE(boots[0].detail.find("(BIOS)"), std::string::npos) << boots[0].detail;
  EXPECT_EQ(Sh("cmp " + Quote(tree_ / "52-54-00-00-00-01/Boot/BCD") + " " +
               Quote(tree_ / folder_ / "Boot/BCD"))
                .exit_code,
            0);
  EXPECT_EQ(fs::read_symlink(root / "bios/bootmgr.exe"), "../../" + folder_ + "/bootmgr.exe");
  EXPECT_FALSE(fs::is_symlink(root / "bios/lifeboat.0")) << "a BIOS chainloads: no restart";
  // A ticket no machine has records nothing.
  std::ofstream(tree_ / "lifeboat/machines/entry-0000-efi.cfg") << "made up";
  Sh("cat " + Quote(tree_ / "lifeboat/machines/entry-0000-efi.cfg"));
  EXPECT_EQ(Boots(3).size(), 2u);
  EXPECT_NE(Render().at("52:54:00:00:00:01.cfg").find("configfile /" + folder_ + "/menu.cfg"),
            std::string::npos)
      << "the entry stays offered: it is not once";

  // Withdrawn: menus go; the choice's client roots go after the lease.
  auto withdrawn = site_->Withdraw();
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(withdrawn->version, "1.0");
  EXPECT_EQ(Render().at(std::string(kUuid1) + ".cfg"), "# vm1\nsource /lifeboat/local.cfg\n");
  EXPECT_TRUE(site_->Current()->version.empty());
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  site_->Sweep(kLease);
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(SiteEntryTest, AVersionSwitchKeepsTheFolderInUseUntilTheLeaseAndARestartServesTheEntry) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("2.0", *wims_ / "v2.wim"));
  ASSERT_TRUE(site_->Publish("1.0", 9, "ann"));
  Render();
  const std::string first = folder_, first_ticket = tickets_.at("vm2");
  ASSERT_EQ(
      Sh("cmp " + Quote(tree_ / first / "boot.wim") + " " + Quote(*wims_ / "v1.wim")).exit_code, 0);

  ASSERT_TRUE(site_->Publish("2.0", 0, "bob"));
  const auto files = Render();
  const std::string second = folder_;
  ASSERT_NE(second, first);
  EXPECT_NE(tickets_.at("vm2"), first_ticket) << "a new folder, new tickets";
  EXPECT_FALSE(files.contains(SiteTicketFile(first_ticket, "efi")));
  EXPECT_NE(files.at(std::string(kUuid2) + ".cfg").find(second + "/menu.cfg"), std::string::npos);
  EXPECT_EQ(
      Sh("cmp " + Quote(tree_ / second / "boot.wim") + " " + Quote(*wims_ / "v2.wim")).exit_code,
      0);
  EXPECT_NE(ReadTextFile(tree_ / second / "menu.cfg").value_or("").find("recovery image 2.0"),
            std::string::npos);

  // The first folder stays while a boot reads it, and goes once nothing opened it for the lease.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(kLease / 2);
    ASSERT_EQ(Sh("head -c 4096 " + Quote(tree_ / first / "boot.wim") + " >/dev/null").exit_code, 0);
    site_->Sweep(kLease);
    EXPECT_TRUE(fs::exists(tree_ / first / "boot.wim")) << "in use, round " << i;
  }
  std::this_thread::sleep_for(kLease + std::chrono::milliseconds(200));
  site_->Sweep(kLease);
  EXPECT_FALSE(fs::exists(tree_ / first));
  EXPECT_TRUE(fs::exists(tree_ / second / "boot.wim"));

  // A restart serves the stored entry from a new folder.
  Stop();
  Start();
  auto current = site_->Current();
  ASSERT_TRUE(current);
  EXPECT_EQ(current->version, "2.0");
  EXPECT_EQ(current->published_by, "bob");
  EXPECT_EQ(current->timeout_seconds, kDefaultSiteMenuSeconds);
  Render();
  EXPECT_NE(folder_, second);
  EXPECT_TRUE(fs::exists(tree_ / folder_ / "menu.cfg"));
  EXPECT_FALSE(fs::exists(tree_ / second)) << "an earlier run's folders are removed";
}

}  // namespace
}  // namespace lifeboat::controller
