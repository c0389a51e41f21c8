#include "agent/status_commands.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "agent/apply_commands.h"
#include "agent/boot_store.h"
#include "agent/json_codec.h"
#include "agent/recovery_volume.h"
#include "agent/store_editor.h"
#include "partition/disk_reader.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

void PrintStatus(const StatusReport& r) {
  std::cout << "Disk " << r.disk << " (" << r.firmware << "): Lifeboat " << r.state << "\n";
  if (!r.version.empty()) {
    std::cout << "  version      " << r.version << " (" << r.image_name << ", "
              << HumanSize(Bytes{r.size}) << ")\n"
              << "  image        " << r.wim_path << " on partition "
              << (r.partition_number ? std::to_string(*r.partition_number) : "?") << "\n"
              << "  sha256       " << r.sha256 << (r.hash_checked ? " (read back and checked)" : "")
              << "\n";
  }
  std::cout << "  boot entry   "
            << (r.entry_present ? r.loader_guid + " \"" + r.entry_description + "\"" : "none")
            << "\n";
  if (r.entry_present) {
    std::cout << "  device       " << r.entry_device << "\n";
    std::string links;
    for (const auto& l : r.linked_from) links += (links.empty() ? "" : ", ") + l;
    std::cout << "  linked from  " << (links.empty() ? "nothing" : links)
              << (r.boot_once ? " (and the next boot starts it once)" : "") << "\n";
  }
  std::cout << "  store        " << r.store << "\n";
  if (!r.versions_on_disk.empty()) {
    std::string all;
    for (const auto& v : r.versions_on_disk) all += (all.empty() ? "" : ", ") + v;
    std::cout << "  on disk      " << all << "\n";
  }
  if (r.recorded_version)
    std::cout << "  agent record " << *r.recorded_version << " at " << r.recorded_at << "\n";
  if (r.last_apply_state) {
    std::cout << "  last apply   " << r.last_apply_version << ": " << *r.last_apply_state
              << (r.last_apply_message.empty() ? "" : " (" + r.last_apply_message + ")") << "\n";
  }
  for (const auto& p : r.problems) std::cout << "  PROBLEM: " << p << "\n";
}

}  // namespace

Result<StatusReport> InspectStatus(const StatusOptions& o) {
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kReadOnly);
  LIFEBOAT_TRY(disk);
  auto model = ReadDisk(*disk);
  LIFEBOAT_TRY(model);
  StatusReport r;
  r.disk = o.disk;
  r.disk_id = model->disk_id;
  const bcd::Guid loader = LoaderGuid(model->disk_id);
  const bcd::Guid options = OptionsGuid(model->disk_id);
  r.loader_guid = loader.Text();

  std::optional<bcd::Store> store;
  auto location = LocateBootStore(*model);
  if (!location) {
    r.problems.push_back(location.error().message);
  } else {
    r.firmware = image::FirmwareName(location->firmware);
    r.store = location->Describe();
    auto bytes = BootStoreFile(o.disk, *location).Read();
    auto parsed = bytes ? ParseStore(*bytes) : std::unexpected(bytes.error());
    if (parsed)
      store = std::move(*parsed);
    else
      r.problems.push_back("the BCD store cannot be read: " + parsed.error().message);
  }
  std::optional<bcd::InstalledEntry> entry;
  if (store) entry = bcd::FindEntry(*store, loader, options);
  if (entry) {
    r.entry_present = true;
    r.entry_description = entry->description;
    r.entry_device = entry->device ? bcd::FormatDevice(*entry->device) : "(no device)";
    r.linked_from = entry->linked_from;
    r.boot_once = entry->boot_once;
    if (entry->device) {
      r.wim_path = entry->device->path;
      r.version = VersionOfWimPath(entry->device->path);
    }
    if (r.version.empty())
      r.problems.push_back("the boot entry does not point at a Lifeboat image folder");
    if (r.linked_from.empty())
      r.problems.push_back("the boot entry is not linked from any menu or recovery sequence");
  }

  const Partition* lifeboat = model->WithRole(Role::kLifeboat);
  if (lifeboat) r.partition_number = lifeboat->number;
  if (lifeboat && geteuid() == 0) {
    auto volume = RecoveryVolume::Open(o.disk, *model, *lifeboat, false);
    if (!volume) {
      r.problems.push_back(volume.error().message);
    } else {
      if (auto versions = (*volume)->Versions()) r.versions_on_disk = *versions;
      if (!r.version.empty()) {
        auto manifest = (*volume)->ReadManifest(r.version);
        if (!manifest || !*manifest) {
          r.problems.push_back("version " + r.version +
                               " has no manifest: its write did not finish");
        } else {
          r.sha256 = (*manifest)->sha256;
          r.size = (*manifest)->size;
          r.image_name = (*manifest)->name;
          auto size = (*volume)->WimSize(r.version);
          if (!size || !*size) {
            r.problems.push_back(WimPath(r.version) + " is missing");
          } else if (**size != r.size) {
            r.problems.push_back(WimPath(r.version) + " has " + std::to_string(**size) +
                                 " bytes; its manifest says " + std::to_string(r.size));
          } else if (o.verify) {
            auto hash = (*volume)->HashWim(r.version);
            r.hash_checked = true;
            if (!hash)
              r.problems.push_back(hash.error().message);
            else if (*hash != r.sha256)
              r.problems.push_back(WimPath(r.version) + " reads back with SHA-256 " + *hash +
                                   ", not " + r.sha256);
          }
        }
      }
      (void)(*volume)->Close();
    }
  } else if (entry && !lifeboat) {
    r.problems.push_back("the boot entry exists but Lifeboat's partition does not");
  }
  if (entry && lifeboat && store) {
    auto ref = PartitionRefFor(*model, *lifeboat);
    if (ref && entry->device && entry->device->partition && !(*entry->device->partition == *ref))
      r.problems.push_back("the boot entry points at another partition than Lifeboat's");
    if (ref && entry->sdi_partition && !(*entry->sdi_partition == *ref))
      r.problems.push_back("the RAM disk options point at another partition than Lifeboat's");
  }

  if (std::filesystem::exists(o.state_dir + "/journal.db")) {
    auto journal = JournalStore::Open(o.state_dir + "/journal.db");
    if (journal) {
      if (auto install = (*journal)->Install(model->disk_id); install && *install) {
        r.recorded_version = (*install)->version;
        r.recorded_at = (*install)->installed_at;
        if (!r.version.empty() && (*install)->version != r.version)
          r.problems.push_back("the agent recorded version " + (*install)->version +
                               " but the disk boots " + r.version);
      }
      if (auto last = (*journal)->LastApply(model->disk_id); last && *last) {
        r.last_apply_state = (*last)->state;
        r.last_apply_version = (*last)->version;
        r.last_apply_message = (*last)->message;
      }
    }
  }
  r.state = r.problems.empty()
                ? (r.entry_present ? "installed" : "absent")
                : (r.entry_present || !r.versions_on_disk.empty() ? "damaged" : "absent");
  return r;
}

int Status(const StatusOptions& o) {
  auto r = InspectStatus(o);
  if (!r) return Report(r.error(), o.json);
  if (o.json)
    std::cout << StatusReportToJson(*r) << "\n";
  else
    PrintStatus(*r);
  return r->state == "damaged" ? kExitDamaged : kExitOk;
}

int ImageCheck(const std::string& file, bool json) {
  auto image = image::CheckImage(file);
  if (!image) return ReportImageError(image.error(), json);
  if (json) {
    std::cout << ImageInfoToJson(*image) << "\n";
    return kExitOk;
  }
  const auto& i = *image;
  std::cout << i.path << ": usable recovery image\n"
            << "  name          " << i.name << "\n"
            << "  description   " << i.description << "\n"
            << "  architecture  " << i.architecture << "\n"
            << "  boot image    " << i.boot_index << " of " << i.image_count << "\n"
            << "  size          " << HumanSize(i.size) << " (" << i.size.value << " bytes; "
            << HumanSize(Bytes{i.expanded_size}) << " expanded)\n"
            << "  files         " << i.file_count << "\n"
            << "  sha256        " << i.sha256 << "\n"
            << "  winload.efi   " << (i.winload_efi.empty() ? "(none: BIOS only)" : i.winload_efi)
            << "\n"
            << "  winload.exe   " << (i.winload_exe.empty() ? "(none: UEFI only)" : i.winload_exe)
            << "\n"
            << "  boot.sdi      " << i.boot_sdi << "\n";
  return kExitOk;
}

}  // namespace lifeboat::agent
