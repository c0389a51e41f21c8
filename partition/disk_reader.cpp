#include "partition/disk_reader.h"

#include <unistd.h>

#include <cstring>

#include "partition/filesystem_probe.h"
#include "partition/ntfs_tools.h"
#include "partition/partition_table.h"

namespace lifeboat::partition {
namespace {

constexpr size_t kMbrEntries = 446;
constexpr uint8_t kProtectiveType = 0xEE;

// The four entries of sector 0, raw, as libfdisk does not show them on a GPT disk.
Result<std::vector<MbrEntry>> ReadMbrEntries(const DiskHandle& disk) {
  unsigned char sector[512];
  LIFEBOAT_TRY(disk.ReadAt(Bytes{0}, sector, sizeof sector));
  std::vector<MbrEntry> entries;
  if (sector[510] != 0x55 || sector[511] != 0xAA) return entries;
  for (uint32_t slot = 0; slot < 4; ++slot) {
    const unsigned char* e = sector + kMbrEntries + 16 * slot;
    if (e[4] == 0) continue;
    entries.push_back(
        {slot + 1, e[4], Lba{LittleEndian(e + 8, 4)}, Sectors{LittleEndian(e + 12, 4)}});
  }
  return entries;
}

// libfdisk falls back to the protective MBR when it cannot read a GPT, and the disk then looks
// like an MBR disk holding one 0xEE partition. Finds out why the GPT was unreadable.
Result<std::string> DiagnoseProtectiveMbr(const DiskHandle& disk, const DiskModel& model) {
  const uint32_t ss = model.sector_size;
  const uint32_t other = ss == 512 ? 4096 : 512;
  auto header_at = [&](uint64_t offset) -> Result<std::optional<std::vector<unsigned char>>> {
    if (disk.size().value < offset + 512) return std::optional<std::vector<unsigned char>>{};
    std::vector<unsigned char> h(512);
    LIFEBOAT_TRY(disk.ReadAt(Bytes{offset}, h.data(), h.size()));
    if (std::memcmp(h.data(), "EFI PART", 8) != 0)
      return std::optional<std::vector<unsigned char>>{};
    return std::optional{h};
  };
  auto own = header_at(ss);
  LIFEBOAT_TRY(own);
  if (*own) {
    const auto& h = **own;
    const uint64_t backup = LittleEndian(h.data() + 32, 8);
    const uint64_t last_usable = LittleEndian(h.data() + 48, 8);
    if (backup >= model.total.count || last_usable >= model.total.count) {
      return model.path + " holds a GPT whose header places the backup header at sector " +
             std::to_string(backup) + ", but the disk has only " +
             std::to_string(model.total.count) + " sectors of " + std::to_string(ss) +
             " bytes: the disk was cut short, or the GPT was copied from a larger disk. "
             "Restore the whole disk, or repair the table with gdisk";
    }
    return model.path +
           " holds a GPT header at sector 1 that libfdisk refused (bad CRC, or "
           "entries that do not fit), and no usable backup: repair it with gdisk";
  }
  auto foreign = header_at(other);
  LIFEBOAT_TRY(foreign);
  if (*foreign) {
    return model.path + " holds a GPT written for " + std::to_string(other) +
           "-byte sectors, but this device has " + std::to_string(ss) +
           "-byte logical sectors: positions in the table would be wrong by a factor of " +
           std::to_string(ss > other ? ss / other : other / ss) +
           ". Use the disk through a device with " + std::to_string(other) +
           "-byte sectors (for an image: losetup --sector-size " + std::to_string(other) + ")";
  }
  return model.path +
         " has a protective MBR (type 0xee) but no GPT header at sector 1 or at the end: the "
         "GPT is damaged; repair it with gdisk";
}

}  // namespace

Result<DiskModel> ReadDisk(const DiskHandle& disk, const ReadOptions& options) {
  auto table = PartitionTable::Open(disk);
  LIFEBOAT_TRY(table);
  auto model = table->Read();
  if (!model) return model;
  if (model->label != LabelKind::kNone) {
    auto entries = ReadMbrEntries(disk);
    LIFEBOAT_TRY(entries);
    if (model->label == LabelKind::kGpt) model->mbr_entries = *entries;
    const bool protective_only = model->label == LabelKind::kMbr && entries->size() == 1 &&
                                 entries->front().type == kProtectiveType;
    if (protective_only) {
      auto why = DiagnoseProtectiveMbr(disk, *model);
      LIFEBOAT_TRY(why);
      model->unreadable_gpt = *why;
    }
  }
  const bool can_look_inside = options.look_inside_ntfs && geteuid() == 0;
  bool noted = false;
  for (auto& p : model->partitions) {
    // Entries outside the disk are reported by CheckLayout; there is nothing to probe.
    if (p.size.count == 0 || p.start.value >= model->total.count ||
        p.size.count > model->total.count - p.start.value || p.container ||
        !model->unreadable_gpt.empty())
      continue;
    const Bytes offset = ToBytes(p.start, model->sector_size);
    const Bytes size = ToBytes(p.size, model->sector_size);
    auto fs = ProbeFilesystem(disk, offset, size);
    if (!fs) return std::unexpected(fs.error().Context("partition " + std::to_string(p.number)));
    p.filesystem = fs->kind;
    p.fs_label = fs->label;
    if (p.filesystem == FilesystemKind::kBitLocker) {
      auto bitlocker = ReadBitLockerInfo(disk, offset, size);
      if (!bitlocker)
        return std::unexpected(bitlocker.error().Context("partition " + std::to_string(p.number)));
      p.bitlocker = *bitlocker;
    }
    if (p.filesystem != FilesystemKind::kNtfs) continue;
    if (!can_look_inside) {
      if (!noted && options.look_inside_ntfs) {
        model->notes.push_back(
            "NTFS volumes were not looked inside (needs root): no minimum sizes, no \\Windows "
            "check");
      }
      noted = true;
      continue;
    }
    auto details = InspectNtfs({disk.path(), offset, size, model->sector_size});
    if (!details)
      return std::unexpected(
          details.error().Context("inspect NTFS on partition " + std::to_string(p.number)));
    p.ntfs = *details;
  }
  ClassifyPartitions(*model);
  return model;
}

}  // namespace lifeboat::partition
