// `lifeboat-agent apply` and `status`: the whole local pipeline (check the image, prepare the
// partition, write and verify the image, switch the boot entry, remove the old version, record
// it) and the report of what a disk holds. Exit codes and JSON are in docs/cli.md.
#pragma once

#include <string>

#include "agent/disk_commands.h"
#include "bcd/lifeboat_entry.h"

namespace lifeboat::agent {

struct ApplyOptions {
  DiskOptions disk;  // the disk, --json, --dry-run, --state-dir, --lock-wait, partition sizing
  std::string image;
  std::string version;
  bcd::LinkPolicy link = bcd::LinkPolicy::kToolsMenu;
};

struct StatusOptions {
  std::string disk;
  bool json = false;
  bool verify = false;  // also hash the installed image
  std::string state_dir = "/var/lib/lifeboat";
};

int Apply(const ApplyOptions& options);
int Status(const StatusOptions& options);
// `image check FILE`: what apply would check, and what the image holds.
int ImageCheck(const std::string& file, bool json);

// The GUIDs of Lifeboat's loader and device-options objects for a disk: derived from the disk's
// identity so that they stay the same across upgrades and agent reinstalls.
bcd::Guid LoaderGuid(const std::string& disk_id);
bcd::Guid OptionsGuid(const std::string& disk_id);

}  // namespace lifeboat::agent
