// `lifeboat-agent apply`: the whole local pipeline (check the image, prepare the partition, write
// and verify the image, switch the boot entry, remove the old version, record it). Exit codes and
// JSON are in docs/cli.md.
#pragma once

#include <string>

#include "agent/apply_plan.h"
#include "agent/disk_commands.h"
#include "bcd/lifeboat_entry.h"

namespace lifeboat::agent {

struct ApplyOptions {
  DiskOptions disk;  // the disk, --json, --dry-run, --state-dir, --lock-wait, partition sizing
  std::string image;
  std::string version;
  bcd::LinkPolicy link = bcd::LinkPolicy::kToolsMenu;
  bool events = false;  // print step events on stderr as they happen (agent/step_event.h)
  // The image's SHA-256 from a trusted source (a signed assignment): only the WIM's metadata is
  // checked up front, and the write proves the bytes. Empty: the whole image is checked first.
  std::string expected_sha256;
};

int Apply(const ApplyOptions& options);

// The disk's BCD store as a plan needs it. A store an interrupted run left unreadable is restored
// from that run's copy in the journal first (not with `dry_run`, which changes nothing). A store
// that cannot be edited is returned with its `problem`; other errors are errors.
[[nodiscard]] Result<BootStoreState> GatherBootStore(
    const BootStoreFile& file, const partition::DiskModel& model, JournalStore& journal,
    bool dry_run, const std::function<void(const std::string&)>& say);

// Prints an image's problem and returns its exit code: 5 when there is no file, else 6.
int ReportImageError(const Error& e, bool json);

}  // namespace lifeboat::agent
