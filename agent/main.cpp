// lifeboat-agent: the command line of the agent. Parses arguments and hands over to a command.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "agent/disk_commands.h"

namespace {

using namespace lifeboat;
using namespace lifeboat::agent;

constexpr const char* kUsage =
    R"(lifeboat-agent - puts a Lifeboat recovery partition on a Windows disk

Usage:
  lifeboat-agent disk show DISK [--json]
      Inspect DISK (a block device such as /dev/sda, or a disk image file): partition table,
      partitions, filesystems, free space, and what Lifeboat recognises (ESP, MSR, Windows,
      WinRE, Lifeboat). Changes nothing. As root it also looks inside NTFS volumes.

  lifeboat-agent disk plan DISK [--size SIZE] [--shrink-margin SIZE] [--allow-gpt-repair] [--json]
      Print exactly what `prepare` would change, or why it refuses. Changes nothing.

  lifeboat-agent disk prepare DISK [--size SIZE] [--shrink-margin SIZE] [--allow-gpt-repair]
                                   [--dry-run] [--state-dir DIR] [--lock-wait SECONDS] [--json]
      Create Lifeboat's recovery partition: back up the table, shrink Windows' NTFS volume if
      there is no free space, move WinRE down behind it, create and format the partition. Every
      step is journalled; after a crash, running prepare again resumes where it stopped.
      Running it on a disk that is already prepared changes nothing and says "unchanged".

Options:
  --size SIZE          size of Lifeboat's partition, e.g. 2G, 1536M (default: 1G, or room for
                       two copies of --image-size)
  --image-size SIZE    size of the recovery image; the default --size holds two of them
  --shrink-margin SIZE free space Windows keeps beyond ntfsresize's minimum when shrunk
                       (default: 1G or 10% of the data on it, whichever is more)
  --allow-gpt-repair   accept a GPT that needs repair (bad primary or misplaced backup header)
  --dry-run            with prepare: print the plan and stop
  --state-dir DIR      where the journal lives (default /var/lib/lifeboat)
  --lock-wait SECONDS  how long to wait for another process to release the disk (default 600)
  --json               machine-readable output on stdout (see docs/cli.md)
  -h, --help           this help
  --version            print the version

Exit codes: 0 done or unchanged, 1 error, 2 usage, 3 refused (nothing changed),
            4 disk busy, 5 disk not found.
)";

int Usage(const std::string& problem) {
  std::cerr << "lifeboat-agent: " << problem << "\nRun 'lifeboat-agent --help' for usage.\n";
  return kExitUsage;
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
    std::cout << "lifeboat-agent 0.1.0\n";
    return kExitOk;
  }
  if (args[0] != "disk" || args.size() < 2) return Usage("unknown command '" + args[0] + "'");
  const std::string command = args[1];
  if (command != "show" && command != "plan" && command != "prepare") {
    return Usage("unknown command 'disk " + command + "'");
  }
  DiskOptions options;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return args[++i];
    };
    auto size_value = [&](const char* name, std::optional<Bytes>& out) -> bool {
      auto v = value(name);
      if (!v) return false;
      out = ParseSize(*v);
      if (!out || out->value == 0) {
        std::cerr << "lifeboat-agent: " << name << " '" << *v
                  << "' is not a size (try 2G, 1536M, 1073741824)\n";
        return false;
      }
      return true;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (a == "--json") {
      options.json = true;
    } else if (a == "--dry-run") {
      options.dry_run = true;
    } else if (a == "--allow-gpt-repair") {
      options.allow_gpt_repair = true;
    } else if (a == "--size") {
      if (!size_value("--size", options.size)) return kExitUsage;
    } else if (a == "--image-size") {
      if (!size_value("--image-size", options.image_size)) return kExitUsage;
    } else if (a == "--shrink-margin") {
      if (!size_value("--shrink-margin", options.shrink_margin)) return kExitUsage;
    } else if (a == "--state-dir") {
      auto v = value("--state-dir");
      if (!v) return Usage("--state-dir needs a folder");
      options.state_dir = *v;
    } else if (a == "--lock-wait") {
      auto v = value("--lock-wait");
      if (!v || v->empty() || v->find_first_not_of("0123456789") != std::string::npos) {
        return Usage("--lock-wait needs a number of seconds");
      }
      options.lock_wait_seconds = std::stoi(*v);
    } else if (!a.empty() && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else if (options.disk.empty()) {
      options.disk = a;
    } else {
      return Usage("unexpected argument '" + a + "'");
    }
  }
  if (options.disk.empty())
    return Usage("disk " + command + " needs a DISK (e.g. /dev/sda or disk.img)");
  if (command == "show") return DiskShow(options);
  if (command == "plan") return DiskPlan(options);
  return DiskPrepare(options);
}
