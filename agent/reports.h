// What `apply`, `status` and `image check` report: plain values that json_codec turns into the
// documented JSON (docs/cli.md) and the commands print for people.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/apply_plan.h"
#include "image/wim_file.h"

namespace lifeboat::agent {

struct ApplyReport {
  std::string disk;
  std::string result;  // installed | upgraded | unchanged | planned (dry run)
  std::string version;
  std::string previous_version;  // what the boot entry pointed at before, if anything
  image::ImageInfo image;
  std::string firmware;  // uefi | bios
  std::string store;     // where the BCD store is
  std::string link;      // tools-menu | main-menu | recovery-sequence
  uint32_t partition_number = 0;
  std::string partition_result;  // prepared | resumed | unchanged | planned
  int64_t partition_run = 0;     // the journal run that made the partition (0: none this time)
  std::string wim_path;
  std::string loader_guid;
  std::vector<std::string> steps;  // what was done (or would be, with --dry-run)
  std::optional<ApplyPlan> plan;   // with --dry-run: the plan itself
};

// What `remove` did (or would do, with --dry-run).
struct RemoveReport {
  std::string disk;
  std::string result;   // removed | resumed | unchanged | planned
  std::string reclaim;  // none | windows | winre
  std::string version;  // the version the journal recorded as installed, if any
  std::string store;    // where the BCD store is
  std::vector<std::string> removed_objects;  // Lifeboat's BCD objects deleted
  std::vector<std::string> changed_objects;  // objects whose links were put back
  std::vector<std::string> notes;
  partition::Plan partition_plan;
  std::vector<std::string> steps;  // what was done (or would be)
};

struct StatusReport {
  std::string disk;
  std::string disk_id;
  std::string firmware;
  std::string store;
  std::string state;  // installed | absent | damaged
  std::vector<std::string> problems;
  std::optional<uint32_t> partition_number;
  std::vector<std::string> versions_on_disk;
  // From the boot entry and the manifest on disk.
  std::string version;
  std::string wim_path;
  std::string sha256;
  uint64_t size = 0;
  std::string image_name;
  bool hash_checked = false;
  // The boot entry.
  bool entry_present = false;
  std::string entry_description;
  std::string entry_device;
  std::vector<std::string> linked_from;
  bool boot_once = false;
  std::string loader_guid;
  // From the agent's state database.
  std::optional<std::string> recorded_version;
  std::string recorded_at;
  std::optional<std::string> last_apply_state;
  std::string last_apply_version;
  std::string last_apply_message;
};

}  // namespace lifeboat::agent
