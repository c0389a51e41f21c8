// lifeboat-agent: the command line of the agent. Parses arguments and hands over to a command.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/apply_commands.h"
#include "agent/bcd_commands.h"
#include "agent/daemon_config.h"
#include "agent/disk_commands.h"
#include "agent/inventory_reader.h"
#include "agent/status_commands.h"
#include "common/version.h"

namespace {

using namespace lifeboat;
using namespace lifeboat::agent;

constexpr const char* kUsage =
    R"(lifeboat-agent - puts a bootable Lifeboat recovery image on a Windows disk

Usage:
  lifeboat-agent run --config FILE
      The daemon: register with the controller named in FILE, heartbeat with this machine's
      inventory, and carry out assignments (download the image, resumably and checked chunk by
      chunk; apply it exactly as `apply` does; report every step as it happens). See
      packaging/agent.conf. It hands over to lifeboat-agent-daemon, a small program that stays
      resident and starts lifeboat-agent-contact for each heartbeat; all disk work is done by
      lifeboat-agent.

  lifeboat-agent inventory [DISK] [--state-dir DIR]
      Print, as JSON, what the daemon tells the controller about this machine: host name,
      firmware, DISK's partitions, the Lifeboat version installed on it, WinRE and BitLocker.
      Without DISK, the disk holding the Windows partition. Changes nothing.

  lifeboat-agent apply DISK --image FILE.wim --version V [--link POLICY] [--size SIZE]
                            [--shrink-margin SIZE] [--allow-gpt-repair] [--dry-run]
                            [--state-dir DIR] [--lock-wait SECONDS] [--json] [--events]
      The whole job: check the image, make room and create Lifeboat's partition if needed,
      write the image to \Recovery\Lifeboat\V\boot.wim (with boot.sdi), read it back and
      verify it, add or update Lifeboat's boot entry in the disk's BCD store, remove the
      previous version, and record V in the agent's state. The same version again changes
      nothing and says "unchanged". Every step is journalled: after a crash, run it again.

  lifeboat-agent status DISK [--verify] [--state-dir DIR] [--json]
      What is installed on DISK and whether its boot entry and image are intact (--verify
      also reads the whole image back and checks its SHA-256). Changes nothing.

  lifeboat-agent image check FILE.wim [--json]
      Check a recovery image as apply would, and show its name, architecture, size, files and
      SHA-256. Changes nothing.

  lifeboat-agent bcd show STORE|DISK [--json]
      Decode every object and element of a BCD store (a store file, or the one on DISK), named
      the way bcdedit names them. Changes nothing.

  lifeboat-agent bcd boot-once DISK [--state-dir DIR] [--json]
      Make the next boot, and only that one, start Lifeboat (the boot manager's bootsequence).

  lifeboat-agent disk show DISK [--json]
      Inspect DISK (a block device such as /dev/sda, or a disk image file): partition table,
      partitions, filesystems, free space, and what Lifeboat recognises (ESP, MSR, Windows,
      WinRE, Lifeboat). Changes nothing. As root it also looks inside NTFS volumes.

  lifeboat-agent disk plan DISK [--size SIZE] [--image-size SIZE] [--shrink-margin SIZE]
                               [--allow-gpt-repair] [--json]
      Print exactly what `disk prepare` would change, or why it refuses. Changes nothing.

  lifeboat-agent disk prepare DISK [--size SIZE] [--image-size SIZE] [--shrink-margin SIZE]
                                   [--allow-gpt-repair] [--dry-run] [--state-dir DIR]
                                   [--lock-wait SECONDS] [--json]
      Only create Lifeboat's recovery partition: back up the table, shrink Windows' NTFS
      volume if there is no free space, move WinRE down behind it, create and format the
      partition. Journalled and resumable like apply.

Options:
  --image FILE         the recovery image (a WinPE-based WIM with a boot index)
  --version V          the version to install: 1-64 of A-Z a-z 0-9 . _ -
  --link POLICY        how the boot entry is reached: tools-menu (default; the boot manager's
                       tools, like Windows Memory Diagnostic), main-menu (beside Windows), or
                       recovery-sequence (Windows' recovery entry: replaces WinRE on failure)
  --size SIZE          size of Lifeboat's partition, e.g. 2G, 1536M (default: room for two
                       images, at least 1G); at least the image plus 64M, less than the disk
  --image-size SIZE    disk plan/prepare: size of the image the partition must hold twice
  --shrink-margin SIZE free space Windows keeps beyond ntfsresize's minimum when shrunk
                       (default: 1G or 10% of the data on it, whichever is more)
  --allow-gpt-repair   accept a GPT that needs repair (bad primary or misplaced backup header)
  --dry-run            print what would be done and stop
  --verify             status: hash the installed image
  --state-dir DIR      where the journal and agent state live (default /var/lib/lifeboat)
  --lock-wait SECONDS  how long to wait for another process to release the disk (default 600)
  --json               machine-readable output on stdout (see docs/cli.md)
  --events             apply: also print each step's start, progress and end on stderr as it
                       happens: "lifeboat-event STEP STATUS BYTES_DONE BYTES_TOTAL MESSAGE"
  -h, --help           this help
  --version            print the version (without a command)

Exit codes: 0 done or unchanged, 1 error, 2 usage, 3 refused (nothing changed),
            4 disk busy, 5 disk or file not found, 6 unusable image (nothing changed),
            7 status: installed but damaged.
)";

int Usage(const std::string& problem) {
  std::cerr << "lifeboat-agent: " << problem << "\nRun 'lifeboat-agent --help' for usage.\n";
  return kExitUsage;
}

struct Parsed {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
};

const std::set<std::string> kValueOptions = {"--image",     "--version",    "--link",
                                             "--size",      "--image-size", "--shrink-margin",
                                             "--state-dir", "--lock-wait"};
const std::set<std::string> kFlagOptions = {"--json", "--dry-run", "--allow-gpt-repair", "--verify",
                                            "--events"};

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
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "lifeboat-agent " << kLifeboatVersion << "\n";
    return kExitOk;
  }

  if (args[0] == "run") {
    if (args.size() != 3 || args[1] != "--config") return Usage("run needs --config FILE");
    auto config = ReadDaemonConfig(args[2]);
    if (!config) {
      std::cerr << "lifeboat-agent: " << config.error().message << "\n";
      return config.error().code == ErrorCode::kNotFound ? kExitNotFound : kExitUsage;
    }
    // Checked here so that a mistake is reported by the command the user typed.
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    const std::string config_path = std::filesystem::absolute(args[2], ec).string();
    const std::string daemon = DaemonProgram(self);
    execl(daemon.c_str(), "lifeboat-agent-daemon", "--config", config_path.c_str(), "--agent",
          self.c_str(), static_cast<char*>(nullptr));
    std::cerr << "lifeboat-agent: cannot start " << daemon << ": " << std::strerror(errno) << "\n";
    return kExitError;
  }

  // The command is one word (apply, status) or two (disk show, bcd show, image check).
  std::string command = args[0];
  size_t first = 1;
  if (command == "disk" || command == "bcd" || command == "image") {
    if (args.size() < 2) return Usage("'" + command + "' needs a subcommand");
    command += " " + args[1];
    first = 2;
  }
  static const std::set<std::string> kCommands = {"apply",       "status",    "inventory",
                                                  "image check", "bcd show",  "bcd boot-once",
                                                  "disk show",   "disk plan", "disk prepare"};
  if (!kCommands.contains(command)) return Usage("unknown command '" + command + "'");

  Parsed p;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (kFlagOptions.contains(a)) {
      p.flags.insert(a);
    } else if (kValueOptions.contains(a)) {
      if (i + 1 >= args.size()) return Usage(a + " needs a value");
      p.values[a] = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else {
      p.positional.push_back(a);
    }
  }
  if (command == "inventory" && p.positional.size() <= 1) {
    return InventoryCommand(
        p.positional.empty() ? "" : p.positional[0],
        p.values.contains("--state-dir") ? p.values["--state-dir"] : DiskOptions{}.state_dir);
  }
  if (p.positional.size() != 1) {
    return Usage(command + (p.positional.empty() ? " needs " : " takes one ") +
                 (command == "image check" ? "FILE"
                  : command == "bcd show"  ? "STORE or DISK"
                                           : "DISK") +
                 (p.positional.empty() ? "" : ", not " + std::to_string(p.positional.size())));
  }

  DiskOptions disk;
  disk.disk = p.positional[0];
  disk.json = p.flags.contains("--json");
  disk.dry_run = p.flags.contains("--dry-run");
  disk.allow_gpt_repair = p.flags.contains("--allow-gpt-repair");
  if (p.values.contains("--state-dir")) disk.state_dir = p.values["--state-dir"];
  for (auto [name, out] :
       {std::pair{"--size", &disk.size}, std::pair{"--image-size", &disk.image_size},
        std::pair{"--shrink-margin", &disk.shrink_margin}}) {
    if (!p.values.contains(name)) continue;
    *out = ParseSize(p.values[name]);
    if (!*out || (*out)->value == 0) {
      return Usage(std::string(name) + " '" + p.values[name] +
                   "' is not a size (try 2G, 1536M, 1073741824)");
    }
  }
  if (p.values.contains("--lock-wait")) {
    const std::string& v = p.values["--lock-wait"];
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
      return Usage("--lock-wait needs a number of seconds");
    disk.lock_wait_seconds = std::stoi(v);
  }

  if (command == "disk show") return DiskShow(disk);
  if (command == "disk plan") return DiskPlan(disk);
  if (command == "disk prepare") return DiskPrepare(disk);
  if (command == "image check") return ImageCheck(disk.disk, disk.json);
  if (command == "bcd show" || command == "bcd boot-once") {
    BcdOptions b{disk.disk, disk.json, disk.state_dir, disk.lock_wait_seconds};
    return command == "bcd show" ? BcdShow(b) : BcdBootOnce(b);
  }
  if (command == "status") {
    return Status({disk.disk, disk.json, p.flags.contains("--verify"), disk.state_dir});
  }
  ApplyOptions apply;
  apply.disk = disk;
  if (!p.values.contains("--image")) return Usage("apply needs --image FILE.wim");
  if (!p.values.contains("--version")) return Usage("apply needs --version V");
  apply.image = p.values["--image"];
  apply.version = p.values["--version"];
  apply.events = p.flags.contains("--events");
  if (p.values.contains("--link")) {
    auto link = bcd::ParseLinkPolicy(p.values["--link"]);
    if (!link) {
      return Usage("--link '" + p.values["--link"] +
                   "' is not one of tools-menu, main-menu, recovery-sequence");
    }
    apply.link = *link;
  }
  return Apply(apply);
}
