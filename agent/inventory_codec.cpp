// The inventory as the controller gets it (v1::Inventory), and read back from the JSON shape of
// docs/json.md that `lifeboat-agent inventory --json` prints (the contact reads it).

#include "agent/inventory.h"
#include "agent/inventory_proto.h"
#include "proto/api_json_read.h"

namespace lifeboat::agent {

void ToProto(const Inventory& in, v1::Inventory* out) {
  out->set_hostname(in.hostname);
  out->set_firmware(in.firmware == "uefi"   ? v1::FIRMWARE_UEFI
                    : in.firmware == "bios" ? v1::FIRMWARE_BIOS
                                            : v1::FIRMWARE_UNSPECIFIED);
  for (const auto& d : in.disks) {
    auto* disk = out->add_disks();
    disk->set_path(d.path);
    disk->set_disk_id(d.disk_id);
    disk->set_label(d.label);
    disk->set_size_bytes(d.size_bytes);
    for (const auto& p : d.partitions) {
      auto* part = disk->add_partitions();
      part->set_number(p.number);
      part->set_start_bytes(p.start_bytes);
      part->set_size_bytes(p.size_bytes);
      part->set_type(p.type);
      part->set_role(p.role);
      part->set_filesystem(p.filesystem);
      if (p.bitlocker) {
        auto* b = part->mutable_bitlocker();
        b->set_protection(p.bitlocker->protection);
        for (const auto& t : p.bitlocker->protectors) b->add_protectors(t);
        b->set_encryption_method(p.bitlocker->encryption_method);
        b->set_volume_id(p.bitlocker->volume_id);
        b->set_problem(p.bitlocker->problem);
      }
    }
  }
  out->set_installed_version(in.installed_version);
  out->set_winre_present(in.winre_present);
  out->set_winre_size_bytes(in.winre_size_bytes);
  if (in.winre_free_bytes) out->set_winre_free_bytes(*in.winre_free_bytes);
  out->set_bitlocker_found(in.bitlocker_found);
  out->set_bitlocker_protection_on(in.bitlocker_protection_on);
  out->set_agent_version(in.agent_version);
  out->set_windows_computer_name(in.windows_computer_name);
  out->set_secure_boot(in.secure_boot);
}

Inventory FromProto(const v1::Inventory& in) {
  Inventory out;
  out.hostname = in.hostname();
  out.firmware = in.firmware() == v1::FIRMWARE_UEFI   ? "uefi"
                 : in.firmware() == v1::FIRMWARE_BIOS ? "bios"
                                                      : "";
  for (const auto& d : in.disks()) {
    DiskSummary disk{d.path(), d.disk_id(), d.label(), d.size_bytes(), {}};
    for (const auto& p : d.partitions()) {
      PartitionSummary part{p.number(), p.start_bytes(), p.size_bytes(), p.type(),
                            p.role(),   p.filesystem(),  std::nullopt};
      if (p.has_bitlocker()) {
        const auto& b = p.bitlocker();
        part.bitlocker = BitLockerSummary{b.protection(),
                                          {b.protectors().begin(), b.protectors().end()},
                                          b.encryption_method(),
                                          b.volume_id(),
                                          b.problem()};
      }
      disk.partitions.push_back(std::move(part));
    }
    out.disks.push_back(std::move(disk));
  }
  out.installed_version = in.installed_version();
  out.winre_present = in.winre_present();
  out.winre_size_bytes = in.winre_size_bytes();
  if (in.has_winre_free_bytes()) out.winre_free_bytes = in.winre_free_bytes();
  out.bitlocker_found = in.bitlocker_found();
  out.bitlocker_protection_on = in.bitlocker_protection_on();
  out.agent_version = in.agent_version();
  out.windows_computer_name = in.windows_computer_name();
  out.secure_boot = in.secure_boot();
  return out;
}

Result<Inventory> InventoryFromJson(const std::string& json) {
  v1::Inventory message;
  std::string why;
  if (!api::MessageFromJson(json, &message, &why))
    return BadInput("inventory", "inventory: not an inventory's JSON: " + why);
  return FromProto(message);
}

}  // namespace lifeboat::agent
