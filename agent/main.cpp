// lifeboat-agent: the command line of the agent. Parses arguments and hands over to a command.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "agent/apply_commands.h"
#include "agent/bcd_commands.h"
#include "agent/daemon_config.h"
#include "agent/disk_commands.h"
#include "agent/inventory_reader.h"
#include "agent/json_codec.h"
#include "agent/media_commands.h"
#include "agent/remove_commands.h"
#include "agent/restore_commands.h"
#include "agent/status_commands.h"
#include "agent/winre_commands.h"
#include "common/cli.h"
#include "common/sha256.h"
#include "common/version.h"

namespace {

using namespace lifeboat;
using namespace lifeboat::agent;

// The commands at a glance, under the options of `lifeboat-agent --help`; each command's own
// --help says the rest.
constexpr const char* kOverview = R"(
Commands:
  run --config FILE            the daemon (see packaging/agent.conf)
  inventory [DISK]             what the daemon tells the controller about this machine
  apply DISK --image FILE.wim --version V
                               the whole job: make room, write and verify the image, add the
                               boot entry, remove the old version; journalled and resumable
  status DISK [--verify]       what is installed on DISK and whether it is intact
  remove DISK [--reclaim windows|winre|none]
                               take Lifeboat off: its boot entry (every link put back), its
                               partition, and its room optionally to Windows or WinRE
  image check FILE.wim         check a recovery image as apply would
  bcd show STORE|DISK          decode a BCD store
  bcd boot-once DISK           make the next boot (only) start Lifeboat
  disk show DISK               partitions, filesystems and what Lifeboat recognises
  disk plan DISK               what disk prepare would change, or why it refuses
  disk prepare DISK            only create Lifeboat's recovery partition
  disk restore DISK --run N    undo prepare run N: its saved partition table back
  winre show DISK              Windows' own recovery partition (WinRE): size, free space
  winre grow DISK --free SIZE | --size SIZE
                               make WinRE larger (KB5034441 asks for 250MB free), taking the
                               room from Windows; journalled and resumable
  media iso --image FILE.wim --version V OUT.iso
                               a bootable ISO (BIOS and UEFI) holding the image
  media usb TARGET --image FILE.wim --version V
                               a bootable USB stick (or disk image file): erases TARGET

Exit codes: 0 done or unchanged, 1 error, 2 usage, 3 refused (nothing changed),
            4 disk busy, 5 disk or file not found, 6 unusable image (nothing changed),
            7 status: installed but damaged.
)";

// The options several commands share, added to each command that takes them.
struct DiskFlags {
  std::string disk;
  bool json = false;
  std::string size, image_size, shrink_margin, lock_wait;
  bool allow_gpt_repair = false;
  bool dry_run = false;
  bool events = false;
  std::string state_dir = DiskOptions{}.state_dir;
  std::string journal_mirror;

  void Disk(CLI::App* c, const std::string& name = "DISK",
            const std::string& what = "a block device such as /dev/sda, or a disk image file") {
    c->add_option(name, disk, what)->required()->type_name("");
  }
  // A read-only command's arguments: what it reads, and --json.
  void Readable(CLI::App* c, const std::string& name = "DISK",
                const std::string& what = "a block device such as /dev/sda, or a disk image file") {
    Disk(c, name, what);
    Json(c);
  }
  void Json(CLI::App* c) {
    c->add_flag("--json", json, "machine-readable output on stdout (docs/cli.md)");
  }
  void StateDir(CLI::App* c) {
    c->add_option("--state-dir", state_dir,
                  "where the journal and agent state live (default /var/lib/lifeboat)")
        ->type_name("DIR");
  }
  // For commands that change a disk: where the journal is kept safe when it lives in a RAM disk.
  void JournalMirror(CLI::App* c) {
    c->add_option("--journal-mirror", journal_mirror,
                  "a Unix socket whose keeper stores a copy of the journal after every write "
                  "before the step goes on (a service visit's contact, which keeps it with the "
                  "controller); without it the journal is only in --state-dir")
        ->type_name("SOCKET");
  }
  void LockWait(CLI::App* c) {
    c->add_option("--lock-wait", lock_wait,
                  "how long to wait for another process to release the disk (default 10m)")
        ->type_name("DURATION")
        ->check(DurationCheck());
  }
  void Sizing(CLI::App* c, bool image_size_option) {
    c->add_option("--size", size,
                  "size of Lifeboat's partition, e.g. 2G, 1536M (default: room for two images, "
                  "at least 1G); at least the image plus 64M, less than the disk")
        ->type_name("SIZE")
        ->check(SizeCheck());
    if (image_size_option) {
      c->add_option("--image-size", image_size, "size of the image the partition must hold twice")
          ->type_name("SIZE")
          ->check(SizeCheck());
    }
    c->add_option("--shrink-margin", shrink_margin,
                  "free space Windows keeps beyond ntfsresize's minimum when shrunk (default: "
                  "1G or 10% of the data on it, whichever is more)")
        ->type_name("SIZE")
        ->check(SizeCheck());
    c->add_flag("--allow-gpt-repair", allow_gpt_repair,
                "accept a GPT that needs repair (bad primary or misplaced backup header)");
  }
  // For journalled commands, so that whoever runs them (the daemon's contact) follows each step.
  void Events(CLI::App* c) {
    c->add_flag("--events", events,
                "also print each step's start, progress and end on stderr as it happens: "
                "\"lifeboat-event STEP STATUS BYTES_DONE BYTES_TOTAL MESSAGE\"");
  }
  void DryRun(CLI::App* c) {
    c->add_flag("--dry-run", dry_run, "print what would be done and change nothing");
  }

  DiskOptions Options() const {
    DiskOptions o;
    o.disk = disk;
    o.json = json;
    o.dry_run = dry_run;
    o.allow_gpt_repair = allow_gpt_repair;
    o.state_dir = state_dir;
    o.journal_mirror = journal_mirror;
    o.events = events;
    // Checked by the options' validators already.
    if (!size.empty()) o.size = ParseSize(size);
    if (!image_size.empty()) o.image_size = ParseSize(image_size);
    if (!shrink_margin.empty()) o.shrink_margin = ParseSize(shrink_margin);
    if (!lock_wait.empty())
      o.lock_wait_seconds =
          static_cast<int>(std::min<int64_t>(ParseDuration(lock_wait)->count(), 7 * 86400));
    return o;
  }
};

// The daemon program: beside this one in a build tree, else where the package installs it.
std::string DaemonProgram(const std::string& self) {
  std::error_code ec;
  const auto bin = std::filesystem::path(self).parent_path();
  if (auto beside = bin / "lifeboat-agent-daemon"; std::filesystem::exists(beside, ec))
    return beside.string();
  return (bin / LIFEBOAT_DAEMON_FROM_BIN).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a tool that exits early must not kill us through its stdin
  CLI::App app{"lifeboat-agent - puts a bootable Lifeboat recovery image on a Windows disk",
               "lifeboat-agent"};
  StyleHelp(app);
  app.set_version_flag("--version", std::string("lifeboat-agent ") + kLifeboatVersion,
                       "print the version and exit");
  app.require_subcommand(1);
  DiskFlags f;

  std::string config;
  auto* run = AddCommand(
      app, "run", "the daemon: heartbeats, assignments, reports (see packaging/agent.conf)",
      "The daemon: register with the controller named in FILE, heartbeat with this machine's "
      "inventory, and carry out assignments (download the image, resumably and checked chunk by "
      "chunk; apply it exactly as `apply` does; report every step as it happens). It hands over "
      "to lifeboat-agent-daemon, a small program that stays resident and starts "
      "lifeboat-agent-contact for each heartbeat; all disk work is done by lifeboat-agent.");
  run->add_option("--config", config, "the agent's configuration (see packaging/agent.conf)")
      ->required()
      ->type_name("FILE");

  std::string inventory_disk;
  auto* inventory = AddCommand(
      app, "inventory", "what the daemon tells the controller about this machine",
      "Print, as JSON, what the daemon tells the controller about this machine: host name, "
      "firmware, DISK's partitions, the Lifeboat version installed on it, WinRE and BitLocker. "
      "Without DISK, the disk holding the Windows partition. Changes nothing.");
  inventory->add_option("DISK", inventory_disk, "the disk (default: the one holding Windows)")
      ->type_name("");
  inventory->add_flag("--json")->description(
      "taken like every command's: the output is always JSON");
  f.StateDir(inventory);

  ApplyOptions apply_options;
  std::string link;
  auto* apply = AddCommand(
      app, "apply", "the whole job: make room, write and verify the image, add the boot entry",
      "The whole job: check the image, make room and create Lifeboat's partition if needed, "
      "write the image to \\Recovery\\Lifeboat\\V\\boot.wim (with boot.sdi), read it back and "
      "verify it, add or update Lifeboat's boot entry in the disk's BCD store, remove the "
      "previous version, and record V in the agent's state. Everything is planned first "
      "(--dry-run prints the plan); the same version again changes nothing and says "
      "\"unchanged\". Every step is journalled: after a crash, run it again.");
  f.Disk(apply);
  apply
      ->add_option("--image", apply_options.image,
                   "the recovery image (a WinPE-based WIM with a boot index)")
      ->required()
      ->type_name("FILE.wim");
  apply
      ->add_option("--version", apply_options.version,
                   "the version to install: 1-64 of A-Z a-z 0-9 . _ -")
      ->required()
      ->type_name("V");
  apply
      ->add_option("--sha256", apply_options.expected_sha256,
                   "the image's SHA-256 as a trusted source gives it (the agent daemon passes "
                   "the one its signed assignment names). Then only the WIM's metadata is "
                   "checked before anything is written, and the bytes are proven by this hash "
                   "as they are written, in one pass; a mismatch removes the copy and fails. "
                   "Without it the whole image is checked first (as `image check` does)")
      ->type_name("HEX")
      ->check([](const std::string& hex) -> std::string {
        return hex.size() == 64 && FromHex(hex) ? "" : "64 hex digits expected";
      });
  apply
      ->add_option("--link", link,
                   "how the boot entry is reached: tools-menu (default; the boot manager's "
                   "tools, like Windows Memory Diagnostic), main-menu (beside Windows), or "
                   "recovery-sequence (Windows' recovery entry: replaces WinRE on failure)")
      ->type_name("POLICY")
      ->check(CLI::IsMember({"tools-menu", "main-menu", "recovery-sequence"}).description(""));
  f.Sizing(apply, false);
  f.DryRun(apply);
  f.StateDir(apply);
  f.JournalMirror(apply);
  f.LockWait(apply);
  f.Json(apply);
  f.Events(apply);

  std::string reclaim = "none";
  auto* remove = AddCommand(
      app, "remove", "take Lifeboat off DISK: boot entry, partition, optionally its room",
      "Take Lifeboat off DISK. Its boot entry leaves the BCD store and every link it made (the "
      "tools menu, the display order, Windows' recovery sequence) is put back as it was before "
      "Lifeboat was first installed (from the journal's copy of the store); then its partition "
      "is deleted, and with --reclaim its room goes to Windows (a WinRE between them moves up "
      "to the end of that room, where it was before, and what names it follows) or to WinRE "
      "directly in front of it, whose partition and NTFS volume grow (ntfsresize; every file "
      "stays in place). Journalled and resumable like apply. Refused, with nothing changed, for "
      "BitLocker protection on, an unusable BCD store, or a reclaim the layout does not allow.");
  f.Disk(remove);
  remove
      ->add_option("--reclaim", reclaim,
                   "who gets the room: none (default; it stays unallocated), windows, or winre")
      ->type_name("WHO")
      ->check(CLI::IsMember({"none", "windows", "winre"}).description(""));
  f.DryRun(remove);
  f.StateDir(remove);
  f.JournalMirror(remove);
  f.LockWait(remove);
  f.Events(remove);
  f.Json(remove);

  bool verify = false;
  auto* status = AddCommand(
      app, "status", "what is installed on DISK and whether it is intact",
      "What is installed on DISK and whether its boot entry and image are intact. Changes "
      "nothing.");
  f.Disk(status);
  status->add_flag("--verify", verify, "also read the whole image back and check its SHA-256");
  f.StateDir(status);
  f.Json(status);

  auto* image = AddGroup(app, "image", "recovery images: check");
  auto* image_check = AddCommand(
      *image, "check", "check a recovery image as apply would",
      "Check a recovery image as apply would, and show its name, architecture, size, files and "
      "SHA-256. Changes nothing.");
  f.Readable(image_check, "FILE", "the WIM file");

  auto* bcd = AddGroup(app, "bcd", "the boot configuration (BCD store): show, boot-once");
  auto* bcd_show = AddCommand(
      *bcd, "show", "decode every object and element of a BCD store",
      "Decode every object and element of a BCD store (a store file, or the one on DISK), named "
      "the way bcdedit names them. Changes nothing.");
  f.Readable(bcd_show, "STORE", "a BCD store file, or a disk whose store to read");
  auto* boot_once =
      AddCommand(*bcd, "boot-once", "make the next boot (only) start Lifeboat",
                 "Make the next boot, and only that one, start Lifeboat (the boot manager's "
                 "bootsequence).");
  f.Disk(boot_once);
  f.StateDir(boot_once);
  f.LockWait(boot_once);
  f.Json(boot_once);

  auto* disk =
      AddGroup(app, "disk", "the disk and Lifeboat's partition: show, plan, prepare, restore");
  auto* disk_show = AddCommand(
      *disk, "show", "partitions, filesystems and what Lifeboat recognises",
      "Inspect DISK: partition table, partitions, filesystems, free space, and what Lifeboat "
      "recognises (ESP, MSR, Windows, WinRE, Lifeboat). Changes nothing. As root it also looks "
      "inside NTFS volumes.");
  f.Readable(disk_show);
  auto* disk_plan = AddCommand(
      *disk, "plan", "what disk prepare would change, or why it refuses",
      "Print exactly what `disk prepare` would change, or why it refuses. Changes nothing.");
  f.Disk(disk_plan);
  f.Sizing(disk_plan, true);
  f.Json(disk_plan);
  auto* disk_prepare = AddCommand(
      *disk, "prepare", "only create Lifeboat's recovery partition",
      "Only create Lifeboat's recovery partition: back up the table, shrink Windows' NTFS volume "
      "if there is no free space, move WinRE down behind it (Windows' ReAgent.xml and, on MBR "
      "disks, the BCD's recovery entry follow it), create and format the partition. Journalled "
      "and resumable like apply; `disk restore --run N` undoes it.");
  f.Disk(disk_prepare);
  f.Sizing(disk_prepare, true);
  f.DryRun(disk_prepare);
  f.StateDir(disk_prepare);
  f.JournalMirror(disk_prepare);
  f.LockWait(disk_prepare);
  f.Events(disk_prepare);
  f.Json(disk_prepare);
  int64_t restore_run = 0;
  auto* disk_restore = AddCommand(
      *disk, "restore", "undo a disk prepare: its saved partition table back",
      "Undo disk prepare run N (its number is in the prepare's output, `status` and the "
      "journal): delete Lifeboat's partition, move WinRE back up, grow Windows back, and write "
      "the partition table the journal saved before run N, byte for byte. Refused, with nothing "
      "changed, unless run N is the newest change on DISK, the table is the one it made, and "
      "Lifeboat's partition holds nothing (no boot entry: run `remove` first; no files). "
      "Journalled and resumable like disk prepare.");
  f.Disk(disk_restore);
  disk_restore->add_option("--run", restore_run, "the journal run of the prepare to undo")
      ->required()
      ->type_name("N")
      ->check(CLI::PositiveNumber.description(""));
  f.DryRun(disk_restore);
  f.StateDir(disk_restore);
  f.JournalMirror(disk_restore);
  f.LockWait(disk_restore);
  f.Events(disk_restore);
  f.Json(disk_restore);

  auto* winre = AddGroup(app, "winre", "Windows' own recovery partition (WinRE): show, grow");
  auto* winre_show = AddCommand(
      *winre, "show", "WinRE's size, free space and place",
      "Show Windows' recovery partition (WinRE): where it is, its size, GUID, type and "
      "attributes, its free space (as root) and whether that is enough for Windows' WinRE update "
      "(250 MB, KB5034441). Changes nothing.");
  f.Readable(winre_show);
  std::string winre_free;
  auto* winre_grow = AddCommand(
      *winre, "grow", "make WinRE larger, taking room from Windows",
      "Make WinRE larger offline: into free space right behind it if there is enough, else "
      "shrink Windows' NTFS volume, move WinRE down (resumably, keeping its GUID, type and "
      "attributes) and grow its partition and NTFS volume (ntfsresize; every file stays in "
      "place). Refused, with nothing changed, for BitLocker, a dirty or hibernated volume, a "
      "WinRE not directly behind Windows without room behind it, or too little room. "
      "Journalled and resumable like disk prepare.");
  f.Disk(winre_grow);
  auto* free_option =
      winre_grow
          ->add_option("--free", winre_free,
                       "the free space WinRE's volume should have afterwards, e.g. 250MB "
                       "(Windows' WinRE update asks for 250MB)")
          ->type_name("SIZE")
          ->check(SizeCheck());
  winre_grow->add_option("--size", f.size, "or: the size WinRE's partition should have, e.g. 1G")
      ->type_name("SIZE")
      ->check(SizeCheck())
      ->excludes(free_option);
  winre_grow
      ->add_option("--shrink-margin", f.shrink_margin,
                   "free space Windows keeps beyond ntfsresize's minimum when shrunk "
                   "(default: 1G or 10% of the data on it, whichever is more)")
      ->type_name("SIZE")
      ->check(SizeCheck());
  f.DryRun(winre_grow);
  f.StateDir(winre_grow);
  f.JournalMirror(winre_grow);
  f.LockWait(winre_grow);
  f.Events(winre_grow);
  f.Json(winre_grow);

  media::MediaJob media_options;
  std::string firmware = "both";
  auto* media = AddGroup(app, "media", "boot media from a recovery image: iso, usb");
  auto media_source = [&](CLI::App* c) {
    c->add_option("--image", media_options.image,
                  "the recovery image (a WinPE-based WIM whose \\Windows\\Boot holds the boot "
                  "managers, El Torito images and media BCD templates)")
        ->required()
        ->type_name("FILE.wim");
    c->add_option("--version", media_options.version,
                  "the version the image is, shown in the boot manager: 1-64 of A-Z a-z 0-9 . _ -")
        ->required()
        ->type_name("V");
    c->add_option("--firmware", firmware,
                  "what the medium boots with: both (default), uefi or bios")
        ->type_name("WHICH")
        ->check(CLI::IsMember({"both", "uefi", "bios"}).description(""));
    c->add_flag("--check-image", media_options.check_image,
                "first read every byte of the image (its integrity table, every resource's SHA-1), "
                "as `image check` does; by default only its metadata and boot files are read");
    f.Json(c);
  };
  auto* media_iso = AddCommand(
      *media, "iso", "a bootable ISO (BIOS and UEFI) holding the image",
      "Master a bootable ISO in the Windows media layout: bootmgr, \\boot\\bcd, "
      "\\boot\\boot.sdi, \\efi\\boot\\bootx64.efi, \\efi\\microsoft\\boot\\bcd and "
      "\\sources\\boot.wim, with El Torito boot images for BIOS (etfsboot.com) and UEFI "
      "(efisys_noprompt.bin), all taken from the image itself. The BCD stores are built from the "
      "image's templates with one entry booting \\sources\\boot.wim from a RAM disk. xorriso "
      "masters it; OUT.iso appears only when it is whole. An expired image is refused.");
  media_source(media_iso);
  media_iso->add_option("OUT", media_options.target, "the ISO file to write")
      ->required()
      ->type_name("OUT.iso");
  media_iso
      ->add_option("--volume-id", media_options.label,
                   "the volume label (default LIFEBOAT_<VERSION>), at most 32 characters")
      ->type_name("LABEL");

  std::string usb_size;
  auto* media_usb = AddCommand(
      *media, "usb", "a bootable USB stick (or disk image file): erases TARGET",
      "Erase TARGET and make it a bootable USB stick: an MBR with one active FAT32 partition "
      "holding the Windows media layout (written with mtools, never mounted). UEFI firmware "
      "boots \\efi\\boot\\bootx64.efi; BIOS firmware boots \\bootmgr through syslinux "
      "(its MBR code, boot sector and chain.c32). Everything written is read back from the "
      "target and compared. Refused: a target that is mounted or holds the running system; one "
      "holding a Windows installation or larger than 128 GiB unless --force; an image of 4 GiB "
      "or more (FAT32 cannot hold it: make an ISO); an expired image. What will be erased is "
      "shown first; --dry-run shows only that.");
  media_usb
      ->add_option("TARGET", media_options.target,
                   "a device such as /dev/sdb, or a disk image file (made if missing)")
      ->required()
      ->type_name("");
  media_source(media_usb);
  media_usb
      ->add_option("--size", usb_size,
                   "the size of an image file made anew (default: just large enough)")
      ->type_name("SIZE")
      ->check(SizeCheck());
  media_usb
      ->add_option("--label", media_options.label,
                   "the FAT volume label (default LIFEBOAT), at most 11 characters")
      ->type_name("LABEL");
  media_usb->add_flag("--force", media_options.force,
                      "use a target larger than 128 GiB or holding a Windows installation");
  f.DryRun(media_usb);

  app.footer(kOverview);  // after the commands: they would inherit it
  auto json_usage_error = [](const std::string& message, const std::string& field) {
    std::cout << ErrorToJson({ErrorCode::kInvalidArgument, message, field}) << "\n";
  };
  if (auto exit = ParseCommandLine(app, argc, argv, json_usage_error)) return *exit;

  if (*run) {
    auto read = ReadDaemonConfig(config);
    if (!read) {
      std::cerr << "lifeboat-agent: " << read.error().message << "\n";
      return read.error().code == ErrorCode::kNotFound ? kExitNotFound : kExitUsage;
    }
    // Checked here so that a mistake is reported by the command the user typed.
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    const std::string config_path = std::filesystem::absolute(config, ec).string();
    const std::string daemon = DaemonProgram(self);
    execl(daemon.c_str(), "lifeboat-agent-daemon", "--config", config_path.c_str(), "--agent",
          self.c_str(), static_cast<char*>(nullptr));
    std::cerr << "lifeboat-agent: cannot start " << daemon << ": " << std::strerror(errno) << "\n";
    return kExitError;
  }
  if (*inventory) return InventoryCommand(inventory_disk, f.state_dir);
  const DiskOptions options = f.Options();
  if (*disk_show) return DiskShow(options);
  if (*disk_plan) return DiskPlan(options);
  if (*disk_prepare) return DiskPrepare(options);
  if (*disk_restore) return DiskRestore(options, restore_run);
  if (*winre_show) return WinReShow(options);
  if (*winre_grow) {
    DiskOptions grow = options;
    if (!winre_free.empty()) grow.free = ParseSize(winre_free);
    if (!grow.free && !grow.size) {
      std::cerr << "lifeboat-agent: winre grow: give --free SIZE or --size SIZE\n";
      return kExitUsage;
    }
    return WinReGrow(grow);
  }
  if (*image_check) return ImageCheck(options.disk, options.json);
  if (*bcd_show || *boot_once) {
    BcdOptions b{options.disk, options.json, options.state_dir, options.lock_wait_seconds};
    return *bcd_show ? BcdShow(b) : BcdBootOnce(b);
  }
  if (*status) return Status({options.disk, options.json, verify, options.state_dir});
  if (*remove) return Remove({options, *partition::ParseReclaim(reclaim)});
  if (*media_iso || *media_usb) {
    media_options.dry_run = f.dry_run;
    media_options.firmware = firmware == "uefi"   ? media::FirmwareChoice::kUefi
                             : firmware == "bios" ? media::FirmwareChoice::kBios
                                                  : media::FirmwareChoice::kBoth;
    if (!usb_size.empty()) media_options.new_size = ParseSize(usb_size)->value;
    return *media_iso ? MediaIso(media_options, f.json) : MediaUsb(media_options, f.json);
  }
  apply_options.disk = options;
  apply_options.events = options.events;
  if (!link.empty()) apply_options.link = *bcd::ParseLinkPolicy(link);
  return Apply(apply_options);
}
