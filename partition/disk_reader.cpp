#include "partition/disk_reader.h"

#include <unistd.h>

#include "partition/filesystem_probe.h"
#include "partition/ntfs_tools.h"
#include "partition/partition_table.h"

namespace lifeboat::partition {

Result<DiskModel> ReadDisk(const DiskHandle& disk, const ReadOptions& options) {
  auto table = PartitionTable::Open(disk);
  if (!table) return std::unexpected(table.error());
  auto model = table->Read();
  if (!model) return model;
  const bool can_look_inside = options.look_inside_ntfs && geteuid() == 0;
  bool noted = false;
  for (auto& p : model->partitions) {
    const Bytes offset = ToBytes(p.start, model->sector_size);
    const Bytes size = ToBytes(p.size, model->sector_size);
    auto fs = ProbeFilesystem(disk, offset, size);
    if (!fs) return std::unexpected(fs.error().Context("partition " + std::to_string(p.number)));
    p.filesystem = fs->kind;
    p.fs_label = fs->label;
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
