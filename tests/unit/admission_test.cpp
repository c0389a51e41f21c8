// Machines known by their hardware: identities parsed and matched, the import CSV, pending and
// accepted machines on a real SQLite file, and the netboot tree rendered into a real folder
// (its site archive read back by cpio, a tool we did not write).
#include "controller/admission.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "controller/netboot.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

constexpr const char* kUuid1 = "5b7c3e2a-1111-4222-8333-944455556666";
constexpr const char* kUuid2 = "6b7c3e2a-1111-4222-8333-944455556666";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

MachineIdentity Id(const std::string& uuid, std::vector<std::string> macs) {
  auto id = NormalizeIdentity(uuid, macs, {}, "identity");
  EXPECT_TRUE(id) << id.error().message;
  return id.value_or(MachineIdentity{});
}

TEST(MachineIdentity, IsWrittenOneWayAndFactoryDefaultUuidsAreDropped) {
  auto id = NormalizeIdentity("5B7C3E2A-1111-4222-8333-944455556666",
                              {"52-54-00-AB-CD-EF", "52:54:00:12:34:56", "52:54:00:12:34:56"},
                              {"S2", "S1"}, "identity");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->smbios_uuid, kUuid1);
  EXPECT_EQ(id->macs, (std::vector<std::string>{"52:54:00:12:34:56", "52:54:00:ab:cd:ef"}));
  EXPECT_EQ(id->disk_serials, (std::vector<std::string>{"S1", "S2"}));
  for (const char* shared_uuid :
       {"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "03000200-0400-0500-0006-000700080009"}) {
    auto p = NormalizeIdentity(shared_uuid, {"52:54:00:12:34:56"}, {}, "identity");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->smbios_uuid, "") << shared_uuid;
    auto alone = NormalizeIdentity(shared_uuid, {}, {}, "identity");
    ASSERT_FALSE(alone) << shared_uuid;
    EXPECT_NE(alone.error().message.find("factory default"), std::string::npos)
        << alone.error().message;
  }
  EXPECT_FALSE(NormalizeIdentity("not-a-uuid", {}, {}, "identity"));
  auto bad_mac = NormalizeIdentity(kUuid1, {"52:54:00:12:34"}, {}, "identity");
  ASSERT_FALSE(bad_mac);
  EXPECT_NE(bad_mac.error().message.find("'52:54:00:12:34' is not a MAC address"),
            std::string::npos);
}

TEST(MachineIdentity, TheUuidDecidesAndMacsOnlyWithoutOne) {
  const auto known = Id(kUuid1, {"52:54:00:12:34:56"});
  EXPECT_EQ(Match(known, Id(kUuid1, {"52:54:00:99:99:99"})), IdentityMatch::kUuid);  // new NIC
  // Another board with this machine's docking-station MAC is another machine.
  EXPECT_EQ(Match(known, Id(kUuid2, {"52:54:00:12:34:56"})), IdentityMatch::kNone);
  EXPECT_EQ(Match(known, Id("", {"52:54:00:12:34:56"})), IdentityMatch::kMac);
  EXPECT_EQ(Match(Id("", {"52:54:00:12:34:56"}), Id(kUuid2, {"52:54:00:12:34:56"})),
            IdentityMatch::kMac);
  EXPECT_EQ(Match(known, Id("", {"52:54:00:00:00:01"})), IdentityMatch::kNone);
}

TEST(ImportCsv, ReadsWhatACmdbExportsWithQuotesAndAnyColumnOrder) {
  auto rows = ParseImportCsv(
      "name,Id,macs,smbios_uuid,labels,owner\r\n"
      "\"PC 1, floor 2\",vm1,52:54:00:12:34:56 52:54:00:12:34:57," +
      std::string(kUuid1) +
      ",\"ring=canary site=paris\",\"Jo \"\"JJ\"\" Smith\"\r\n"
      "\n"
      "pc2,pc2,52-54-00-AA-BB-CC,,,\n");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].id, "vm1");
  EXPECT_EQ((*rows)[0].name, "PC 1, floor 2");
  EXPECT_EQ((*rows)[0].identity.smbios_uuid, kUuid1);
  EXPECT_EQ((*rows)[0].identity.macs.size(), 2u);
  EXPECT_EQ((*rows)[0].labels,
            (std::map<std::string, std::string>{{"ring", "canary"}, {"site", "paris"}}));
  EXPECT_EQ((*rows)[1].line, 4u);
  EXPECT_EQ((*rows)[1].identity.macs, (std::vector<std::string>{"52:54:00:aa:bb:cc"}));
}

TEST(ImportCsv, RefusesTheWholeFileNamingTheLine) {
  const std::string header = "id,smbios_uuid,macs,name,labels\n";
  struct Case {
    std::string csv, says;
  };
  for (const Case& c : std::vector<Case>{
           {"id,name\nvm1,x\n", "line 1: the header must name"},
           {header, "lists no machine"},
           {header + "vm1," + kUuid1 + ",,,\nvm 2," + kUuid2 + ",,,\n", "line 3: id: 'vm 2'"},
           {header + "vm1," + kUuid1 + ",,,\nvm2," + kUuid1 + ",,,\n", "line 3: smbios_uuid"},
           {header + "vm1,,52:54:00:12:34:56,,\nvm2,,52:54:00:12:34:56,,\n",
            "line 3: MAC address 52:54:00:12:34:56 appears twice"},
           {header + "vm1,,,,\n", "line 2: neither a usable SMBIOS UUID"},
           {header + "vm1," + kUuid1 + ",,,ring\n", "line 2: label 'ring'"},
           {header + "vm1,\"" + kUuid1 + ",,,\n", "a quoted field is not closed"},
           {header + "vm1,vm1,vm1,,\n", "line 2: smbios_uuid 'vm1' is not a UUID"},
       }) {
    auto rows = ParseImportCsv(c.csv);
    ASSERT_FALSE(rows) << c.csv;
    EXPECT_NE(rows.error().message.find(c.says), std::string::npos) << rows.error().message;
  }
}

class AdmissionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(*wims_ / "a.wim", ""));
  }
  static void TearDownTestSuite() { delete wims_; }
  void SetUp() override { Open(); }
  void Open() {
    admission_.reset();
    fleet_.reset();
    store_.reset();
    auto s = FleetStore::OpenSqlite(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    fleet_ = std::make_unique<Fleet>(*store_, dir_ / "data");
    admission_ = std::make_unique<Admission>(store_->identities(), *fleet_, [this] { ++changes_; });
  }
  std::vector<ImportRow> Rows(const std::string& lines) {
    auto rows = ParseImportCsv("id,smbios_uuid,macs,name,labels\n" + lines);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows.value_or(std::vector<ImportRow>{});
  }
  // The boot choice for the machine or pending entry named `name`.
  std::optional<NetbootChoice> Choice(const std::string& name) {
    auto entries = admission_->NetbootEntries();
    EXPECT_TRUE(entries);
    for (const auto& e : *entries)
      if (e.machine == name) return e.choice;
    return std::nullopt;
  }

  static TempDir* wims_;
  TempDir dir_;
  std::unique_ptr<FleetStore> store_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<Admission> admission_;
  int changes_ = 0;
};
TempDir* AdmissionTest::wims_ = nullptr;

TEST_F(AdmissionTest, AnUnknownMachineIsPendingGetsNothingAndIsSentToItsDisk) {
  const auto id = Id(kUuid1, {"52:54:00:12:34:56"});
  auto visit = admission_->Hello(id, "DESKTOP-7Q2", "", "ipv4:10.0.2.15:5000");
  ASSERT_TRUE(visit) << visit.error().message;
  EXPECT_EQ(visit->outcome, VisitDecision::Outcome::kPending);
  EXPECT_EQ(visit->machine_id, "");
  EXPECT_NE(visit->message.find("lifeboatctl machine accept " + std::string(kUuid1)),
            std::string::npos);
  EXPECT_EQ(changes_, 1);
  // It calls again: still pending, counted, and nothing it says makes it trusted.
  ASSERT_TRUE(admission_->Hello(id, "DESKTOP-7Q2", "", "ipv4:10.0.2.15:5001"));
  auto pending = admission_->Pending();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, kUuid1);
  EXPECT_EQ((*pending)[0].visits, 2u);
  EXPECT_EQ((*pending)[0].computer_name, "DESKTOP-7Q2");
  EXPECT_EQ(Choice(std::string("pending ") + kUuid1), NetbootChoice::kLocalDisk);
  EXPECT_TRUE(fleet_->Machines({})->empty());
}

TEST_F(AdmissionTest, MadeUpIdentitiesCannotGrowThePendingListWithoutBound) {
  Admission small(
      store_->identities(), *fleet_, [] {}, 2);
  ASSERT_TRUE(small.Hello(Id("", {"52:54:00:00:00:01"}), "", "", ""));
  ASSERT_TRUE(small.Hello(Id("", {"52:54:00:00:00:02"}), "", "", ""));
  auto third = small.Hello(Id("", {"52:54:00:00:00:03"}), "", "", "");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kRefused);
  EXPECT_NE(third.error().message.find("2 machines wait as pending already"), std::string::npos)
      << third.error().message;
  // One already pending still counts its visits; an accepted one is served as ever.
  ASSERT_TRUE(small.Hello(Id("", {"52:54:00:00:00:02"}), "", "", ""));
  EXPECT_EQ(small.Pending()->size(), 2u);
  ASSERT_TRUE(small.Accept("52:54:00:00:00:01", "pc1", {}));
  ASSERT_TRUE(small.Hello(Id("", {"52:54:00:00:00:03"}), "", "", ""));  // room again
}

TEST_F(AdmissionTest, AcceptedMachinesAreNamedFromWindowsAndKeptAcrossARestart) {
  ASSERT_TRUE(admission_->Hello(Id(kUuid1, {"52:54:00:12:34:56"}), "DESKTOP-7Q2", "", ""));
  ASSERT_TRUE(admission_->Hello(Id("", {"52:54:00:00:00:09"}), "", "", ""));
  auto a = admission_->Accept(kUuid1, "", {{"ring", "canary"}});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a, "desktop-7q2");
  auto b = admission_->Accept("52:54:00:00:00:09", "", {});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(*b, "52-54-00-00-00-09");
  EXPECT_EQ(admission_->Accept("52:54:00:00:00:09", "", {}).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(admission_->Pending()->empty());

  Open();  // a restarted controller knows them
  auto again = admission_->Hello(Id(kUuid1, {"52:54:00:77:77:77"}), "DESKTOP-7Q2", "", "");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, VisitDecision::Outcome::kNoWork);
  EXPECT_EQ(again->machine_id, "desktop-7q2");
  auto m = fleet_->Machine("desktop-7q2");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->machine.labels.at("ring"), "canary");
  // The new adapter is kept as supporting evidence.
  auto identity = admission_->IdentityOf("desktop-7q2");
  ASSERT_TRUE(identity && *identity);
  EXPECT_EQ((*identity)->identity.macs, (std::vector<std::string>{"52:54:00:77:77:77"}));
  EXPECT_EQ(Choice("desktop-7q2"), NetbootChoice::kLocalDisk);
}

TEST_F(AdmissionTest, ImportIsAllOrNothingAndAnIdentityBelongsToOneMachine) {
  auto added =
      admission_->Import(Rows("vm1," + std::string(kUuid1) + ",52:54:00:12:34:56,PC one,ring=a\n"));
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(*added, 1u);
  // vm2 would take vm1's UUID: refused, and vm3 on the same file is not added either.
  auto clash = admission_->Import(
      Rows("vm3,," + std::string("52:54:00:00:00:03") + ",,\nvm2," + kUuid1 + ",,,\n"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
  EXPECT_NE(clash.error().message.find("line 3: SMBIOS UUID " + std::string(kUuid1) +
                                       " is machine vm1's already"),
            std::string::npos)
      << clash.error().message;
  EXPECT_EQ(fleet_->Machines({})->size(), 1u);
  // Importing again updates.
  auto updated = admission_->Import(Rows("vm1," + std::string(kUuid1) + ",,PC one,ring=b\n"));
  ASSERT_TRUE(updated);
  EXPECT_EQ(*updated, 0u);
  EXPECT_EQ(fleet_->Machine("vm1")->machine.labels.at("ring"), "b");
  // Never seen: offline, and its first network boot is known.
  EXPECT_TRUE(fleet_->Machine("vm1")->machine.last_seen.empty());
  auto visit = admission_->Hello(Id(kUuid1, {}), "", "", "");
  ASSERT_TRUE(visit);
  EXPECT_EQ(visit->outcome, VisitDecision::Outcome::kNoWork);
  EXPECT_EQ(visit->machine_id, "vm1");
}

TEST_F(AdmissionTest, WorkSendsAMachineToTheServiceEnvironmentUntilItIsDone) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  ASSERT_TRUE(
      admission_->Import(Rows("vm1," + std::string(kUuid1) + ",,,\nvm2," + kUuid2 + ",,,\n")));
  EXPECT_EQ(Choice("vm1"), NetbootChoice::kLocalDisk);
  RolloutSpec spec{"1.0", {false, {}, {"vm1"}}, {}};
  spec.allow_unsigned = true;  // the test image is unsigned
  ASSERT_TRUE(fleet_->CreateRollout(spec));
  EXPECT_EQ(Choice("vm1"), NetbootChoice::kServiceEnvironment);
  EXPECT_EQ(Choice("vm2"), NetbootChoice::kLocalDisk);
  auto visit = admission_->Hello(Id(kUuid1, {}), "", "", "");
  ASSERT_TRUE(visit);
  EXPECT_EQ(visit->outcome, VisitDecision::Outcome::kService);
  // The visit: register, heartbeat, the work reported done.
  MachineRecord m;
  m.id = "vm1";
  m.hostname = "vm1";
  ASSERT_TRUE(fleet_->Register(m));
  auto a = fleet_->Heartbeat("vm1", "", "", AgentState::kIdle, "");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(Choice("vm1"), NetbootChoice::kServiceEnvironment);  // a power cut now: back it comes
  ASSERT_TRUE(
      fleet_->Report("vm1", (*a)->attempt_id, {{1, "done", StepStatus::kSucceeded, 0, 0, "", ""}}));
  EXPECT_FALSE(*fleet_->HasWork("vm1"));
  EXPECT_EQ(Choice("vm1"), NetbootChoice::kLocalDisk);

  // An operator's request is for one visit.
  EXPECT_EQ(admission_->RequestService("nobody").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(admission_->RequestService("vm2"));
  EXPECT_EQ(Choice("vm2"), NetbootChoice::kServiceEnvironment);
  auto requested = admission_->Hello(Id(kUuid2, {}), "", "", "");
  ASSERT_TRUE(requested);
  EXPECT_EQ(requested->outcome, VisitDecision::Outcome::kService);
  EXPECT_EQ(Choice("vm2"), NetbootChoice::kLocalDisk);
  auto next = admission_->Hello(Id(kUuid2, {}), "", "", "");
  EXPECT_EQ(next->outcome, VisitDecision::Outcome::kNoWork);
}

// The journal a service visit keeps here: replaced whole, kept across a restart, and only an SQLite
// file of a known machine, of bounded size.
TEST_F(AdmissionTest, AJournalIsKeptPerMachineAcrossARestartAndOnlyAnSqliteFile) {
  ASSERT_TRUE(admission_->Import(Rows("vm1," + std::string(kUuid1) + ",,,\n")));
  EXPECT_FALSE(admission_->LoadJournal("vm1").value().has_value());
  const std::string first = std::string("SQLite format 3\0", 16) + "first";
  const std::string second = std::string("SQLite format 3\0", 16) + std::string(70000, 'x');
  ASSERT_TRUE(admission_->SaveJournal("vm1", first));
  ASSERT_TRUE(admission_->SaveJournal("vm1", second));
  Open();
  EXPECT_EQ(admission_->LoadJournal("vm1").value().value(), second);

  auto unknown = admission_->SaveJournal("vm9", first);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto text = admission_->SaveJournal("vm1", "not a database");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(text.error().message, "the journal is not an SQLite file");
  auto huge = admission_->SaveJournal(
      "vm1", std::string("SQLite format 3\0", 16) + std::string(kMaxJournalBytes, 'x'));
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("more than 4194304"), std::string::npos)
      << huge.error().message;
  EXPECT_EQ(admission_->LoadJournal("vm1").value().value(), second);  // refusals changed nothing
}

TEST(NetbootTree, RendersTheLoadersConfigsSiteArchiveAndOneFilePerIdentity) {
  TempDir dir;
  const std::string env = dir / "env", tftp = dir / "tftp";
  for (const char* f : {"loaders/uefi/bootx64.efi", "loaders/uefi/grubx64.efi",
                        "loaders/bios/lifeboat.0", "vmlinuz", "initrd.img"}) {
    std::filesystem::create_directories(std::filesystem::path(env + "/" + f).parent_path());
    std::ofstream(env + "/" + f) << "contents of " << f;
  }
  NetbootSettings settings{tftp,
                           env,
                           "10.0.2.2:7443",
                           "-----CA-----\n",
                           {"-----KEY-----\n"},
                           "console=ttyS0 lifeboat.after=poweroff",
                           ""};
  auto missing = NetbootTree::Create({tftp, dir / "nothing", "x:1", "", {}, "", ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("packaging/service-env/build"), std::string::npos);

  // What goes into GRUB's script and the agent's config is a value, never more.
  for (const char* args : {"quiet\nlinux /evil", "quiet; boot", "console=$x", "a\"b"}) {
    NetbootSettings bad = settings;
    bad.kernel_args = args;
    auto refused = NetbootTree::Create(bad);
    ASSERT_FALSE(refused) << args;
    EXPECT_EQ(refused.error().field, "netboot_kernel_args");
  }
  NetbootSettings bad_address = settings;
  bad_address.address = "10.0.2.2:7443\ntrusted_keys = /tmp/mine.pem";
  EXPECT_FALSE(NetbootTree::Create(bad_address));
  NetbootSettings bad_http = settings;
  bad_http.http_address = "10.0.2.2:80)/evil";
  auto refused_http = NetbootTree::Create(bad_http);
  ASSERT_FALSE(refused_http);
  EXPECT_EQ(refused_http.error().field, "netboot_http");
  EXPECT_FALSE(std::filesystem::exists(tftp)) << "a refused tree writes nothing";

  auto tree = NetbootTree::Create(settings);
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_EQ(ReadFile(tftp + "/uefi/bootx64.efi"), "contents of loaders/uefi/bootx64.efi");
  EXPECT_EQ(ReadFile(tftp + "/bios/lifeboat.0"), "contents of loaders/bios/lifeboat.0");
  EXPECT_EQ(ReadFile(tftp + "/lifeboat/initrd.img"), "contents of initrd.img");
  EXPECT_NE(ReadFile(tftp + "/lifeboat/service.cfg")
                .find("linux /lifeboat/vmlinuz console=ttyS0 lifeboat.after=poweroff"),
            std::string::npos);
  EXPECT_NE(ReadFile(tftp + "/grub/grub.cfg").find("smbios --type 1 --get-uuid"),
            std::string::npos);
  EXPECT_NE(ReadFile(tftp + "/lifeboat/restart.cfg").find("\nreboot\n"), std::string::npos);
  // The site archive, unpacked by cpio as the kernel would.
  auto cpio = Sh("cd " + Quote(dir.path()) + " && mkdir root && cd root && cpio -idm < " +
                 Quote(tftp + "/lifeboat/site.cpio") + " 2>&1 && find . -type f | sort");
  ASSERT_EQ(cpio.exit_code, 0) << cpio.out;
  EXPECT_NE(cpio.out.find("./etc/lifeboat/keys/1.pem"), std::string::npos) << cpio.out;
  EXPECT_EQ(ReadFile(dir / "root/etc/lifeboat/ca.pem"), "-----CA-----\n");
  const std::string conf = ReadFile(dir / "root/etc/lifeboat/service.conf");
  EXPECT_NE(conf.find("controller = 10.0.2.2:7443"), std::string::npos) << conf;
  EXPECT_NE(conf.find("trusted_keys = /etc/lifeboat/keys/1.pem"), std::string::npos) << conf;

  auto files = RenderMachineFiles(
      {{"vm1", Id(kUuid1, {"52:54:00:12:34:56"}), NetbootChoice::kServiceEnvironment},
       {"pending x", Id("", {"52:54:00:12:34:56", "52:54:00:00:00:02"}),
        NetbootChoice::kLocalDisk}});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_NE(files.at(std::string(kUuid1) + ".cfg").find("source /lifeboat/service.cfg"),
            std::string::npos);
  EXPECT_NE(files.at("52:54:00:12:34:56.cfg").find("service.cfg"), std::string::npos);  // vm1's
  EXPECT_NE(files.at("52:54:00:00:00:02.cfg").find("local.cfg"), std::string::npos);
  auto written = tree->SetMachineFiles(files);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, 3u);
  EXPECT_EQ(*tree->SetMachineFiles(files), 0u);  // nothing changed, nothing written
  files.erase("52:54:00:00:00:02.cfg");
  EXPECT_EQ(*tree->SetMachineFiles(files), 1u);
  EXPECT_FALSE(std::filesystem::exists(tftp + "/lifeboat/machines/52:54:00:00:00:02.cfg"));
  // A restart takes over what is there, and removes what no longer applies.
  auto restarted = NetbootTree::Create(settings);
  ASSERT_TRUE(restarted);
  EXPECT_EQ(*restarted->SetMachineFiles({}), 2u);
  EXPECT_TRUE(std::filesystem::is_empty(tftp + "/lifeboat/machines"));

  // Given the tree's HTTP address, GRUB for BIOSes loads the kernel and initrd from it.
  NetbootSettings over_http = settings;
  over_http.http_address = "10.0.2.2:8080";
  ASSERT_TRUE(NetbootTree::Create(over_http));
  const std::string service = ReadFile(tftp + "/lifeboat/service.cfg");
  EXPECT_NE(
      service.find(
          "if [ \"$grub_platform\" = pc ]; then set lifeboat_from=\"(http,10.0.2.2:8080)\"; fi\n"
          "linux $lifeboat_from/lifeboat/vmlinuz console=ttyS0"),
      std::string::npos)
      << service;
  EXPECT_NE(service.find("initrd $lifeboat_from/lifeboat/initrd.img "
                         "$lifeboat_from/lifeboat/site.cpio\n"),
            std::string::npos)
      << service;
}

}  // namespace
}  // namespace lifeboat::controller
