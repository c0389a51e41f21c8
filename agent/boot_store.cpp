#include "agent/boot_store.h"

#include <cctype>
#include <cstdlib>

#include "image/fat_volume.h"
#include "image/ntfs_volume.h"
#include "partition/loop_device.h"

namespace lifeboat::agent {

using partition::DiskModel;
using partition::LabelKind;
using partition::Role;

namespace {

std::string Folder(const std::string& path) { return path.substr(0, path.find_last_of('\\')); }

// Runs `work` on the NTFS volume of the store's partition, through a loop device.
template <typename F>
auto WithNtfs(const std::string& disk, const BootStoreLocation& l, bool writable, F&& work)
    -> decltype(work(std::declval<image::NtfsVolume&>())) {
  auto loop = partition::LoopDevice::Attach(disk, l.offset, l.size, l.sector_size, !writable);
  LIFEBOAT_TRY(loop);
  auto volume =
      image::NtfsVolume::Open(loop->path(), writable ? image::NtfsVolume::Mode::kReadWrite
                                                     : image::NtfsVolume::Mode::kReadOnly);
  if (!volume) return std::unexpected(volume.error().Context(l.Describe()));
  auto result = work(**volume);
  if (auto closed = (*volume)->Close(); !closed && result) return std::unexpected(closed.error());
  return result;
}

}  // namespace

std::string BootStoreLocation::Describe() const {
  return path + " on partition " + std::to_string(partition_number) +
         (fat ? " (EFI system partition)" : " (active NTFS partition)");
}

Result<BootStoreLocation> LocateBootStore(const DiskModel& disk) {
  BootStoreLocation l;
  l.sector_size = disk.sector_size;
  if (const auto* esp = disk.WithRole(Role::kEsp)) {
    l.firmware = image::Firmware::kUefi;
    l.partition_number = esp->number;
    l.offset = ToBytes(esp->start, disk.sector_size);
    l.size = ToBytes(esp->size, disk.sector_size);
    l.fat = true;
    l.path = "\\EFI\\Microsoft\\Boot\\BCD";
    return l;
  }
  if (disk.label == LabelKind::kMbr) {
    for (const auto& p : disk.partitions) {
      if (!p.bootable) continue;
      if (p.filesystem != partition::FilesystemKind::kNtfs) {
        return Fail(ErrorCode::kUnsupported,
                    "the active partition " + std::to_string(p.number) + " of " + disk.path +
                        " is not NTFS; Lifeboat looks for \\Boot\\BCD on an NTFS system partition");
      }
      l.firmware = image::Firmware::kBios;
      l.partition_number = p.number;
      l.offset = ToBytes(p.start, disk.sector_size);
      l.size = ToBytes(p.size, disk.sector_size);
      l.fat = false;
      l.path = "\\Boot\\BCD";
      return l;
    }
    return Fail(ErrorCode::kUnsupported,
                disk.path +
                    " is an MBR disk with no active partition: there is no BIOS boot "
                    "store (\\Boot\\BCD) to add Lifeboat's entry to");
  }
  return Fail(ErrorCode::kUnsupported,
              disk.path +
                  " has no EFI system partition: there is no UEFI boot store "
                  "(\\EFI\\Microsoft\\Boot\\BCD) to add Lifeboat's entry to");
}

Result<bcd::PartitionRef> PartitionRefFor(const DiskModel& disk, const partition::Partition& p) {
  bcd::PartitionRef ref;
  if (disk.label == LabelKind::kGpt) {
    auto part = bcd::Guid::Parse(p.uuid);
    auto id = bcd::Guid::Parse(disk.disk_id);
    if (!part || !id) {
      return Fail(ErrorCode::kCorrupt, "partition " + std::to_string(p.number) + " of " +
                                           disk.path + " has no usable GPT GUIDs");
    }
    ref.gpt = true;
    ref.partition = *part;
    ref.disk = *id;
    return ref;
  }
  ref.gpt = false;
  ref.offset = ToBytes(p.start, disk.sector_size).value;
  char* end = nullptr;
  ref.signature = static_cast<uint32_t>(std::strtoul(disk.disk_id.c_str(), &end, 16));
  if (disk.disk_id.empty() || *end != '\0') {
    return Fail(ErrorCode::kCorrupt,
                disk.path + " has no MBR disk signature (\"" + disk.disk_id + "\")");
  }
  return ref;
}

BootStoreFile::BootStoreFile(std::string disk_path, BootStoreLocation location)
    : disk_path_(std::move(disk_path)), location_(std::move(location)) {}

Result<std::vector<uint8_t>> BootStoreFile::Read() const {
  Result<std::vector<uint8_t>> bytes;
  if (location_.fat) {
    bytes = image::FatVolume(disk_path_, location_.offset.value).ReadFile(location_.path);
  } else {
    bytes = WithNtfs(disk_path_, location_, false,
                     [&](image::NtfsVolume& v) { return v.ReadFile(location_.path); });
  }
  if (!bytes && bytes.error().code == ErrorCode::kNotFound) {
    return Fail(ErrorCode::kNotFound,
                "the BCD store " + location_.Describe() + " of " + disk_path_ + " does not exist");
  }
  return bytes;
}

Result<void> BootStoreFile::Write(const std::vector<uint8_t>& bytes) const {
  if (location_.fat) {
    return image::FatVolume(disk_path_, location_.offset.value).WriteFile(location_.path, bytes);
  }
  return WithNtfs(disk_path_, location_, true,
                  [&](image::NtfsVolume& v) { return v.WriteFile(location_.path, bytes); });
}

Result<std::vector<std::pair<std::string, std::vector<uint8_t>>>> BootStoreFile::Logs() const {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> logs;
  const std::string folder = Folder(location_.path);
  const std::string leaf = location_.path.substr(folder.size() + 1);
  auto collect = [&](auto& volume) -> Result<void> {
    auto names = volume.List(folder);
    LIFEBOAT_TRY(names);
    for (const auto& name : *names) {
      std::string upper;
      for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!upper.starts_with(leaf + ".LOG")) continue;
      auto bytes = volume.ReadFile(folder + "\\" + name);
      LIFEBOAT_TRY(bytes);
      logs.emplace_back(name, std::move(*bytes));
    }
    return {};
  };
  if (location_.fat) {
    image::FatVolume fat(disk_path_, location_.offset.value);
    LIFEBOAT_TRY(collect(fat));
  } else {
    auto r =
        WithNtfs(disk_path_, location_, false, [&](image::NtfsVolume& v) { return collect(v); });
    LIFEBOAT_TRY(r);
  }
  return logs;
}

}  // namespace lifeboat::agent
