// The service visit of a network-booted machine, end to end on this host: a real controller
// rendering its netboot tree, lifeboat-agent-contact --service-visit run as the service
// environment runs it, with the hardware read from a folder shaped like sysfs (SMBIOS UUID, MAC,
// disk serial) and a Windows-like disk image. An unknown machine is pending and boots its disk; an
// imported machine in a rollout is serviced and then boots its disk; an operator's request is for
// one visit. The disk is checked with sfdisk and ntfs-3g; the JSON with the schema.
#include "tests/disk/agent_daemon_fixture.h"

namespace lifeboat::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUuid1 = "5b7c3e2a-1111-4222-8333-944455556666";
constexpr const char* kUuid2 = "6b7c3e2a-1111-4222-8333-944455556666";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ServiceVisitTest : public AgentDaemonTest {
 protected:
  void SetUp() override {
    AgentDaemonTest::SetUp();
    // The service environment's build output (its real build is the boot test's): the controller
    // copies these into the tree.
    for (const char* f : {"loaders/uefi/bootx64.efi", "loaders/uefi/grubx64.efi",
                          "loaders/bios/lifeboat.0", "vmlinuz", "initrd.img"}) {
      fs::create_directories((fs::path(dir_ / "env") / f).parent_path());
      std::ofstream(dir_ / "env" + "/" + f) << f;
    }
    controller_flags_ = "--netboot-dir " + Quote(dir_ / "tftp") + " --service-env " +
                        Quote(dir_ / "env") + " --netboot-address 127.0.0.1:7443" +
                        " --netboot-trusted-keys " + Quote(dir_ / "signer.pub");
  }
  // A folder shaped like sysfs for a machine with this UUID, one adapter and one disk.
  std::string Hardware(const std::string& name, const std::string& uuid, const std::string& mac) {
    const fs::path sys = dir_ / ("sys-" + name);
    fs::create_directories(sys / "class/dmi/id");
    fs::create_directories(sys / "class/net/eth0/device");
    fs::create_directories(sys / "class/net/lo");
    fs::create_directories(sys / "block/vda");
    std::ofstream(sys / "class/dmi/id/product_uuid") << uuid << "\n";
    std::ofstream(sys / "class/net/eth0/address") << mac << "\n";
    std::ofstream(sys / "class/net/lo/address") << "00:00:00:00:00:00\n";
    std::ofstream(sys / "block/vda/serial") << "SERIAL-" << name << "\n";
    return sys.string();
  }
  // One service visit of machine `name`, as packaging/service-env/init runs it.
  CommandResult Visit(int port, const std::string& name, const std::string& sys,
                      const std::string& disk, const std::string& env = "") {
    std::ofstream config(dir_ / (name + "-visit.conf"));
    config << "controller = 127.0.0.1:" << port << "\nca = " << (dir_ / "controller/ca.pem")
           << "\ntrusted_keys = " << (dir_ / "signer.pub") << "\ndisk = " << disk
           << "\nstate_dir = " << (dir_ / (name + "-ram")) << "\n";
    config.close();
    const std::string contact = (fs::path(LIFEBOAT_AGENT).parent_path() / "lifeboat-agent-contact");
    return Sh(env + " timeout 300 " + Quote(contact) + " --config " +
              Quote(dir_ / (name + "-visit.conf")) + " --agent " + Quote(LIFEBOAT_AGENT) +
              " --service-visit --sysfs " + Quote(sys));
  }
  // vm1 imported by its UUID and put in a rollout of 1.0.
  void ImportVm1InARollout(int port) {
    std::ofstream(dir_ / "one.csv") << "id,smbios_uuid,macs,name,labels\nvm1," << kUuid1 << ",,,\n";
    ASSERT_EQ(Ctl(port, "machine import " + Quote(dir_ / "one.csv")).exit_code, 0);
    ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --machine vm1").exit_code, 0);
  }
  // A power cut in vm1's visit (run by `visit`): the contact and its apply die at once, and the
  // RAM disk with them. (One command per call: a shell running both would match the patterns.)
  void CutThePower(const std::string& disk, std::thread& visit) {
    Sh("pkill -9 -f " + Quote("lifeboat-agent-contact --config " + dir_ / "vm1-visit.conf"));
    Sh("pkill -9 -f " + Quote("lifeboat-agent apply " + disk));
    visit.join();
    const std::string apply = "pgrep -f " + Quote("lifeboat-agent apply " + disk);
    for (int i = 0; i < 40 && Sh(apply).exit_code == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    ASSERT_NE(Sh(apply).exit_code, 0) << "the apply outlived the power cut: " << Sh(apply).out;
    fs::remove_all(dir_ / "vm1-ram");
  }
  // What the tree tells the machine with this UUID or MAC to boot, once it says `expected`
  // (waits up to 10 s for the controller to re-render it).
  std::string BootFile(const std::string& key, const std::string& expected) {
    const fs::path file = fs::path(dir_ / "tftp/lifeboat/machines") / (key + ".cfg");
    std::string text;
    for (int i = 0; i < 40; ++i) {
      text = ReadFile(file);
      if (text.find(expected) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return text;
  }
};

TEST_F(ServiceVisitTest, AnUnknownMachineIsPendingAndBootsItsDiskUntilAccepted) {
  const int port = StartController();
  ASSERT_GT(port, 0);
  // The tree: loaders, GRUB's configuration, the site archive.
  for (const char* f : {"uefi/bootx64.efi", "uefi/grubx64.efi", "bios/lifeboat.0", "grub/grub.cfg",
                        "lifeboat/site.cpio", "lifeboat/service.cfg", "lifeboat/local.cfg"})
    EXPECT_TRUE(fs::exists(dir_ / "tftp" + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir_ / "tftp/lifeboat/machines/" + std::string(kUuid1) + ".cfg"));

  const std::string sys = Hardware("pc", kUuid1, "52:54:00:12:34:56");
  const std::string disk_before = ImageChecksum(dir_ / "disk.img");
  auto visit = Visit(port, "pc", sys, dir_ / "disk.img");
  EXPECT_EQ(visit.exit_code, 0) << visit.err;
  EXPECT_NE(visit.err.find("visit: pending: this machine is not accepted"), std::string::npos)
      << visit.err;
  EXPECT_EQ(ImageChecksum(dir_ / "disk.img"), disk_before);
  // Pending, and nothing else: no machine, no certificate on the machine.
  auto pending = Ctl(port, "machine list --pending --json");
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_EQ(JsonShapeProblem(pending.out, "pending_machine_list"), "");
  EXPECT_NE(pending.out.find(kUuid1), std::string::npos) << pending.out;
  EXPECT_NE(pending.out.find("52:54:00:12:34:56"), std::string::npos) << pending.out;
  EXPECT_NE(pending.out.find("SERIAL-pc"), std::string::npos) << pending.out;
  // Windows' name for it, read from the disk's SYSTEM hive (the fixture's, made with hivexsh).
  EXPECT_NE(pending.out.find("\"computer_name\": \"DESKTOP-LIFEBOAT\""), std::string::npos)
      << pending.out;
  EXPECT_EQ(Json(Ctl(port, "machine list --json").out)->getArray("machines")->size(), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "pc-ram/agent.pem"));
  // Its next network boots go to its disk, by UUID and by MAC.
  EXPECT_NE(BootFile(kUuid1, "local.cfg").find("source /lifeboat/local.cfg"), std::string::npos);
  EXPECT_NE(BootFile("52:54:00:12:34:56", "local.cfg").find("local.cfg"), std::string::npos);

  auto accepted =
      Ctl(port, std::string("machine accept ") + kUuid1 + " --as pc9 --label ring=a --json");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_EQ(JsonShapeProblem(accepted.out, "machine_accept"), "");
  auto shown = Ctl(port, "machine show pc9");
  EXPECT_NE(shown.out.find(std::string("hardware   ") + kUuid1 + " 52:54:00:12:34:56"),
            std::string::npos)
      << shown.out;
  EXPECT_TRUE(Json(Ctl(port, "machine list --pending --json").out)->getArray("machines")->size() ==
              0);
  // Accepted with nothing to do: the visit ends, the disk is untouched.
  auto again = Visit(port, "pc", sys, dir_ / "disk.img");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("visit: no work: machine pc9 has nothing to do"), std::string::npos)
      << again.err;
  EXPECT_EQ(ImageChecksum(dir_ / "disk.img"), disk_before);
  // Every visit is in the audit log.
  auto audit = Ctl(port, "audit list");
  EXPECT_NE(audit.out.find("ServiceHello"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("AcceptMachine"), std::string::npos) << audit.out;
}

TEST_F(ServiceVisitTest, AnImportedMachineInARolloutIsServicedThenBootsItsDisk) {
  const int port = StartWithImage("1.0");
  ASSERT_GT(port, 0);
  std::ofstream(dir_ / "fleet.csv") << "id,smbios_uuid,macs,name,labels\n"
                                    << "vm1," << kUuid1 << ",52:54:00:12:34:56,PC one,ring=canary\n"
                                    << "vm2," << kUuid2 << ",52:54:00:12:34:57,PC two,\n";
  auto imported = Ctl(port, "machine import " + Quote(dir_ / "fleet.csv") + " --json");
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(JsonShapeProblem(imported.out, "machine_import"), "");
  EXPECT_EQ(Json(imported.out)->getValue<int>("added"), 2);
  EXPECT_NE(BootFile(kUuid1, "local.cfg").find("local.cfg"), std::string::npos);

  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --machine vm1").exit_code, 0);
  EXPECT_NE(BootFile(kUuid1, "service.cfg").find("source /lifeboat/service.cfg"),
            std::string::npos);
  EXPECT_NE(BootFile(kUuid2, "local.cfg").find("local.cfg"), std::string::npos);

  const std::string disk = dir_ / "disk.img";
  const SfTable before = Sfdisk(disk);
  const auto& windows = before.partitions[2];
  const std::string files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
  auto visit = Visit(port, "vm1", Hardware("vm1", kUuid1, "52:54:00:12:34:56"), disk);
  ASSERT_EQ(visit.exit_code, 0) << visit.err;
  EXPECT_NE(visit.err.find("visit: service"), std::string::npos) << visit.err;
  EXPECT_NE(visit.err.find("installed 1.0"), std::string::npos) << visit.err;
  EXPECT_NE(visit.err.find("visit: done"), std::string::npos) << visit.err;
  auto rollout = WaitForRollout(port, 10);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed");
  const std::string events = Events(port, "vm1");
  EXPECT_NE(events.find("done succeeded"), std::string::npos) << events;
  auto vm1 = Json(Ctl(port, "machine show vm1 --json").out)->getObject("machine");
  EXPECT_EQ(vm1->getValue<std::string>("installed_version"), "1.0");
  EXPECT_EQ(vm1->getValue<std::string>("hostname"), "DESKTOP-LIFEBOAT");  // Windows' name
  // The next network boot goes to the disk.
  EXPECT_NE(BootFile(kUuid1, "local.cfg").find("local.cfg"), std::string::npos);
  // Checked with tools we did not write: Lifeboat's partition is there, Windows' files unchanged.
  const SfTable after = Sfdisk(disk);
  EXPECT_TRUE(Named(after, "Lifeboat").has_value());
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  EXPECT_EQ(NtfsFileSums(disk, windows.start * 512, after.partitions[2].size * 512), files);
  // The certificate of the visit names vm1 and lasts a day.
  auto cert = Sh("openssl x509 -noout -subject -startdate -enddate -in " +
                 Quote(dir_ / "vm1-ram/agent.pem"));
  EXPECT_NE(cert.out.find("CN = vm1"), std::string::npos) << cert.out;
}

TEST_F(ServiceVisitTest, AnOperatorsRequestIsForOneVisitAndBadImportsChangeNothing) {
  const int port = StartController();
  ASSERT_GT(port, 0);
  std::ofstream(dir_ / "bad.csv") << "id,smbios_uuid,macs,name,labels\n"
                                  << "vm1," << kUuid1 << ",,,\n"
                                  << "vm2,not-a-uuid,,,\n";
  auto bad = Ctl(port, "machine import " + Quote(dir_ / "bad.csv"));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("line 3: smbios_uuid 'not-a-uuid' is not a UUID"), std::string::npos)
      << bad.err;
  EXPECT_EQ(Json(Ctl(port, "machine list --json").out)->getArray("machines")->size(), 0u);
  EXPECT_NE(Ctl(port, "machine import " + Quote(dir_ / "none.csv")).exit_code, 0);

  std::ofstream(dir_ / "one.csv") << "id,smbios_uuid,macs,name,labels\nvm1," << kUuid1 << ",,,\n";
  ASSERT_EQ(Ctl(port, "machine import " + Quote(dir_ / "one.csv")).exit_code, 0);
  auto requested = Ctl(port, "machine service vm1 --json");
  ASSERT_EQ(requested.exit_code, 0) << requested.err;
  EXPECT_EQ(JsonShapeProblem(requested.out, "machine_service"), "");
  EXPECT_NE(BootFile(kUuid1, "service.cfg").find("service.cfg"), std::string::npos);
  EXPECT_NE(Ctl(port, "machine service nobody").exit_code, 0);

  const std::string sys = Hardware("vm1", kUuid1, "52:54:00:12:34:56");
  auto visit = Visit(port, "vm1", sys, dir_ / "disk.img");
  EXPECT_EQ(visit.exit_code, 0) << visit.err;
  EXPECT_NE(visit.err.find("visit: service"), std::string::npos) << visit.err;
  EXPECT_NE(visit.err.find("registered as vm1"), std::string::npos) << visit.err;
  EXPECT_NE(visit.err.find("visit: done"), std::string::npos) << visit.err;
  EXPECT_NE(BootFile(kUuid1, "local.cfg").find("local.cfg"), std::string::npos);
  auto next = Visit(port, "vm1", sys, dir_ / "disk.img");
  EXPECT_NE(next.err.find("visit: no work"), std::string::npos) << next.err;
}

// A power cut in the middle of the image write: the visit and its apply die at once, and the RAM
// disk with them (its state folder is gone). The controller still has the assignment open, so the
// machine's next network boot is a visit again, which takes the same attempt and converges.
TEST_F(ServiceVisitTest, AVisitCutByAPowerLossInTheImageWriteConvergesOnTheNext) {
  const int port = StartWithImage("1.0");
  ASSERT_GT(port, 0);
  ASSERT_NO_FATAL_FAILURE(ImportVm1InARollout(port));
  const std::string disk = dir_ / "disk.img";
  const SfTable before = Sfdisk(disk);
  const auto& windows = before.partitions[2];
  const std::string files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
  const std::string sys = Hardware("vm1", kUuid1, "52:54:00:12:34:56");

  // The first visit, held after the image's first chunk is written (the go file never comes).
  std::thread first([&] {
    (void)Visit(port, "vm1", sys, disk,
                "LIFEBOAT_TEST_HOLD_AT=apply:write-image:chunk:1 LIFEBOAT_TEST_HOLD_FILE=" +
                    Quote(dir_ / "never"));
  });
  const std::string events = WaitForEvent(port, "vm1", "write-image started");
  ASSERT_NE(events.find("write-image started"), std::string::npos) << events;
  ASSERT_NO_FATAL_FAILURE(CutThePower(disk, first));
  EXPECT_NE(BootFile(kUuid1, "service.cfg").find("service.cfg"), std::string::npos);

  auto again = Visit(port, "vm1", sys, disk);
  ASSERT_EQ(again.exit_code, 0) << again.err << Events(port, "vm1");
  EXPECT_NE(again.err.find("installed 1.0"), std::string::npos) << again.err;
  auto rollout = WaitForRollout(port, 10);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed");
  EXPECT_NE(BootFile(kUuid1, "local.cfg").find("local.cfg"), std::string::npos);
  const SfTable after = Sfdisk(disk);
  EXPECT_TRUE(Named(after, "Lifeboat").has_value());
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  EXPECT_EQ(NtfsFileSums(disk, windows.start * 512, after.partitions[2].size * 512), files);
  auto status = Sh(Quote(LIFEBOAT_AGENT) + " status " + Quote(disk) + " --json --state-dir " +
                   Quote(dir_ / "status-state"));
  EXPECT_NE(status.out.find("\"state\": \"installed\""), std::string::npos) << status.out;
}

// A power cut in the middle of moving WinRE, on a disk where WinRE moves down by less than its own
// size: its first 30 chunks are copied and its old first bytes overwritten, so a copy started
// again from the beginning would spoil it. The visit's RAM disk, and its journal, are lost. The
// journal's copy kept with the controller after every chunk brings the next visit back to the
// exact chunk, and WinRE arrives byte for byte.
TEST_F(ServiceVisitTest, AVisitCutByAPowerLossInTheMoveOfWinReResumesFromTheControllersJournal) {
  const int port = StartWithImage("1.0");
  ASSERT_GT(port, 0);
  ASSERT_NO_FATAL_FAILURE(ImportVm1InARollout(port));
  // 984 MiB free at the end for Lifeboat's 1 GiB: Windows gives 41 MiB and WinRE (300 MiB, 75
  // chunks of 4 MiB) moves down by that much (apply --dry-run says so).
  const std::string disk = dir_ / "tight.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20 --winre-size 300M --disk-size 4401M");
  const SfTable before = Sfdisk(disk);
  const auto& windows = before.partitions[2];
  const auto& winre = before.partitions[3];
  const std::string files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
  const std::string winre_bytes = Sha256(disk, winre.start * 512, winre.size * 512);
  const std::string sys = Hardware("vm1", kUuid1, "52:54:00:12:34:56");

  std::thread first([&] {
    (void)Visit(
        port, "vm1", sys, disk,
        "LIFEBOAT_TEST_HOLD_AT=3:chunk:30 LIFEBOAT_TEST_HOLD_FILE=" + Quote(dir_ / "never"));
  });
  // Held after chunk 30, once the controller's copy of the journal shows it (read with sqlite3
  // from the controller's own database).
  const std::string held = std::to_string(30ull * 4 * 1024 * 1024) + "\n";
  const std::string copy = dir_ / "controller-copy.db";
  std::string progress;
  for (int i = 0; i < 600 && progress != held; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    fs::remove(copy);
    Sh("sqlite3 " + Quote(dir_ / "controller/fleet.db") + " \"SELECT writefile('" + copy +
       "', journal) FROM agent_journals WHERE machine_id = 'vm1'\"");
    progress = Sh("sqlite3 " + Quote(copy) + " \"SELECT progress FROM steps WHERE idx = 3\"").out;
  }
  ASSERT_EQ(progress, held) << Events(port, "vm1");
  ASSERT_NO_FATAL_FAILURE(CutThePower(disk, first));

  auto again = Visit(port, "vm1", sys, disk);
  ASSERT_EQ(again.exit_code, 0) << again.err << Events(port, "vm1");
  EXPECT_NE(again.err.find("journal restored from the controller"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("installed 1.0"), std::string::npos) << again.err;
  auto rollout = WaitForRollout(port, 10);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed");
  // Checked with tools we did not write: WinRE is the same bytes at its new place, with its GUID;
  // Windows' files are unchanged; Lifeboat is installed.
  const SfTable after = Sfdisk(disk);
  EXPECT_EQ(Sh("sfdisk --verify " + Quote(disk)).exit_code, 0);
  ASSERT_EQ(after.partitions[3].uuid, winre.uuid);
  EXPECT_EQ(after.partitions[3].start, winre.start - 41 * 2048);
  EXPECT_EQ(Sha256(disk, after.partitions[3].start * 512, winre.size * 512), winre_bytes);
  EXPECT_EQ(NtfsFileSums(disk, windows.start * 512, after.partitions[2].size * 512), files);
  EXPECT_TRUE(Named(after, "Lifeboat").has_value());
}

// A machine whose Windows volume has BitLocker protection on: the visit reads the disk, refuses
// before changing anything (a boot change would end at a recovery-key prompt), and the operator
// sees why and what to run in Windows, on the attempt and on the machine.
TEST_F(ServiceVisitTest, ABitLockerMachineWithProtectionOnIsRefusedBeforeAnythingChanges) {
  const int port = StartWithImage("1.0");
  ASSERT_GT(port, 0);
  const std::string disk = dir_ / "bitlocker.img";
  MakeWindowsDisk(disk,
                  "--label gpt --disk-size 4G --windows-size 2000M --fill-mb 20 "
                  "--variant bitlocker");
  const std::string before = ImageChecksum(disk);
  ImportVm1InARollout(port);

  auto visit = Visit(port, "vm1", Hardware("vm1", kUuid1, "52:54:00:12:34:56"), disk);
  EXPECT_NE(visit.err.find("manage-bde -protectors -disable C: -RebootCount 1"), std::string::npos)
      << visit.err;
  EXPECT_EQ(ImageChecksum(disk), before) << "the disk changed";

  auto show = Ctl(port, "machine show vm1");
  EXPECT_NE(show.out.find("bitlocker  partition 3: protection on (tpm, recovery-password)"),
            std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("failed"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("Suspend-BitLocker -MountPoint C: -RebootCount 1"), std::string::npos)
      << show.out;
  auto vm1 = Json(Ctl(port, "machine show vm1 --json").out)->getObject("machine");
  EXPECT_TRUE(vm1->getObject("inventory")->getValue<bool>("bitlocker_protection_on"));
  EXPECT_EQ(vm1->getValue<std::string>("installed_version"), "");
}

}  // namespace
}  // namespace lifeboat::test
