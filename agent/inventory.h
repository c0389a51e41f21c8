// What the agent tells the controller about its machine, and its JSON form: the proto3 JSON
// mapping of lifeboat.v1.Inventory with the proto's field names. `lifeboat-agent inventory`
// prints it; the daemon reads it back, so the disk libraries stay out of the daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::agent {

struct PartitionSummary {
  uint32_t number = 0;
  uint64_t start_bytes = 0;
  uint64_t size_bytes = 0;
  std::string type, role, filesystem;
};

struct DiskSummary {
  std::string path, disk_id, label;
  uint64_t size_bytes = 0;
  std::vector<PartitionSummary> partitions;
};

struct Inventory {
  std::string hostname;
  std::string firmware;            // uefi, bios, or empty when unknown
  std::vector<DiskSummary> disks;  // the first is the disk Lifeboat works on
  std::string installed_version;
  bool winre_present = false;
  bool bitlocker_found = false;
  std::string agent_version;
  std::string windows_computer_name;  // from the offline SYSTEM hive; empty when unknown
  bool secure_boot = false;           // the firmware has Secure Boot on (service environment)
};

[[nodiscard]] std::string InventoryToJson(const Inventory& inventory);
// Errors: kInvalidArgument with the parser's reason.
[[nodiscard]] Result<Inventory> InventoryFromJson(const std::string& json);

}  // namespace lifeboat::agent
