// What the agent tells the controller about its machine, and its JSON form: the proto3 JSON
// mapping of lifeboat.v1.Inventory with the proto's field names. `lifeboat-agent inventory`
// prints it; the daemon reads it back, so the disk libraries stay out of the daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::agent {

// What a BitLocker volume's metadata says (partition/bitlocker_metadata.h).
struct BitLockerSummary {
  std::string protection;  // on, suspended, unknown
  std::vector<std::string> protectors;
  std::string encryption_method, volume_id, problem;
};

struct PartitionSummary {
  uint32_t number = 0;
  uint64_t start_bytes = 0;
  uint64_t size_bytes = 0;
  std::string type, role, filesystem;
  std::optional<BitLockerSummary> bitlocker;  // BitLocker volumes only
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
  uint64_t winre_size_bytes = 0;
  std::optional<uint64_t> winre_free_bytes;  // when its volume was looked inside
  bool bitlocker_found = false;
  bool bitlocker_protection_on = false;  // a BitLocker volume is not suspended (or unreadable)
  std::string agent_version;
  std::string windows_computer_name;  // from the offline SYSTEM hive; empty when unknown
  bool secure_boot = false;           // the firmware has Secure Boot on (service environment)
};

[[nodiscard]] std::string InventoryToJson(const Inventory& inventory);
// Errors: kInvalidArgument with the parser's reason.
[[nodiscard]] Result<Inventory> InventoryFromJson(const std::string& json);

}  // namespace lifeboat::agent
