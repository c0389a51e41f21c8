#include "agent/inventory_reader.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "agent/exit_codes.h"
#include "agent/inventory_proto.h"
#include "agent/json_codec.h"
#include "agent/status_commands.h"
#include "agent/windows_name.h"
#include "common/version.h"
#include "partition/disk_handle.h"
#include "partition/disk_reader.h"
#include "partition/winre.h"
#include "proto/api_json.h"

namespace lifeboat::agent {

namespace fs = std::filesystem;
using namespace partition;

Result<std::string> FindWindowsDisk() {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec))
    names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("dm-") ||
        name.starts_with("sr") || name.starts_with("zram"))
      continue;
    std::string dev = "/dev/" + name;
    auto disk = DiskHandle::Open(dev, DiskHandle::Mode::kReadOnly);
    if (!disk) continue;
    auto model = ReadDisk(*disk);
    if (model && model->WithRole(Role::kWindows)) return dev;
  }
  return Fail(ErrorCode::kNotFound,
              "no disk holds a Windows partition; set disk = ... in the config");
}

// Whether the firmware runs with Secure Boot on: the SecureBoot variable (EFI global GUID) is 1.
// efivarfs gives four bytes of attributes, then the value. Off on BIOS machines.
bool SecureBootOn() {
  std::ifstream in("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
                   std::ios::binary);
  char bytes[5] = {};
  return in.read(bytes, 5) && bytes[4] == 1;
}

Inventory ReadInventory(const std::string& disk, const std::string& state_dir) {
  Inventory inv;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  inv.hostname = host;
  inv.agent_version = kLifeboatVersion;
  if (auto handle = DiskHandle::Open(disk, DiskHandle::Mode::kReadOnly)) {
    if (auto model = ReadDisk(*handle)) {
      DiskSummary d{disk, model->disk_id, LabelName(model->label), model->Size().value, {}};
      for (const auto& p : model->partitions) {
        PartitionSummary part{p.number,
                              ToBytes(p.start, model->sector_size).value,
                              ToBytes(p.size, model->sector_size).value,
                              p.type,
                              RoleName(p.role),
                              FilesystemName(p.filesystem),
                              std::nullopt};
        if (p.filesystem == FilesystemKind::kBitLocker) {
          inv.bitlocker_found = true;
          const BitLockerInfo info =
              p.bitlocker.value_or(BitLockerInfo{{}, {}, {}, {}, "its metadata was not read"});
          part.bitlocker = BitLockerSummary{info.ProtectionName(), info.protectors,
                                            info.encryption_method, info.volume_id, info.problem};
          if (!info.Suspended()) inv.bitlocker_protection_on = true;
        }
        d.partitions.push_back(std::move(part));
      }
      const WinReSummary winre = SummarizeWinRe(*model);
      inv.winre_present = winre.winre != nullptr;
      if (winre.winre) inv.winre_size_bytes = ToBytes(winre.winre->size, model->sector_size).value;
      if (winre.free) inv.winre_free_bytes = winre.free->value;
      // A name that cannot be read (no hive, a BitLocker volume) is left out, not an error.
      if (auto name = ReadWindowsComputerName(disk, *model)) inv.windows_computer_name = *name;
      inv.disks.push_back(std::move(d));
    }
  }
  inv.secure_boot = SecureBootOn();
  if (auto status = InspectStatus({disk, false, false, state_dir})) {
    inv.firmware = status->firmware;
    inv.installed_version = status->version;
  }
  return inv;
}

std::string InventoryToJson(const Inventory& inventory) {
  v1::Inventory message;
  ToProto(inventory, &message);
  return api::MessageJson(message, true);
}

int InventoryCommand(const std::string& disk, const std::string& state_dir) {
  std::string path = disk;
  if (path.empty()) {
    auto found = FindWindowsDisk();
    if (!found) {
      // The output is always JSON, so a failure is too (docs/json.md), and a line for people.
      std::cout << ErrorToJson(found.error()) << "\n";
      std::cerr << "lifeboat-agent: " << found.error().message << "\n";
      return kExitNotFound;
    }
    path = *found;
  }
  std::cout << InventoryToJson(ReadInventory(path, state_dir)) << "\n";
  return kExitOk;
}

}  // namespace lifeboat::agent
