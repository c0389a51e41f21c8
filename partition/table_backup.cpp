#include "partition/table_backup.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "partition/partition_table.h"

namespace lifeboat::partition {
namespace {

// Where the tail goes: the last sectors of the disk.
Bytes TailOffset(const DiskModel& d, const TableBackup& b) {
  return d.Size() - Bytes{b.tail.size()};
}

// Bytes 440-511 of sector 0: the disk signature, the MBR entries, the boot signature.
constexpr size_t kTableStart = 440;
constexpr size_t kSectorZeroEnd = 512;

}  // namespace

Result<DiskModel> ReadTableBackup(const TableBackup& backup, const DiskModel& disk) {
  if (backup.head.size() < kSectorZeroEnd || backup.tail.size() > disk.Size().value)
    return Fail(ErrorCode::kCorrupt, "the table backup is too short to hold a partition table");
  char path[] = "/tmp/lifeboat-table.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0)
    return Fail(ErrorCode::kIo, std::string("cannot make a scratch file: ") + strerror(errno));
  unlink(path);  // gone when closed; libfdisk reads it through /proc/self/fd
  auto close_fd = [fd] { close(fd); };
  const off_t size = static_cast<off_t>(disk.Size().value);
  const bool written =
      ftruncate(fd, size) == 0 &&
      pwrite(fd, backup.head.data(), backup.head.size(), 0) ==
          static_cast<ssize_t>(backup.head.size()) &&
      (backup.tail.empty() || pwrite(fd, backup.tail.data(), backup.tail.size(),
                                     static_cast<off_t>(TailOffset(disk, backup).value)) ==
                                  static_cast<ssize_t>(backup.tail.size()));
  if (!written) {
    close_fd();
    return Fail(ErrorCode::kIo, std::string("cannot write the scratch file: ") + strerror(errno));
  }
  auto handle =
      DiskHandle::Open("/proc/self/fd/" + std::to_string(fd), DiskHandle::Mode::kReadOnly);
  close_fd();
  LIFEBOAT_TRY(handle);
  auto table = PartitionTable::Open(*handle);
  LIFEBOAT_TRY(table);
  auto model = table->Read();
  LIFEBOAT_TRY(model);
  if (model->label == LabelKind::kNone)
    return Fail(ErrorCode::kCorrupt, "the table backup holds no partition table");
  model->path = disk.path;
  return model;
}

bool SamePartitions(const DiskModel& a, const DiskModel& b) {
  if (a.label != b.label || a.disk_id != b.disk_id || a.partitions.size() != b.partitions.size())
    return false;
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    const Partition &p = a.partitions[i], &q = b.partitions[i];
    if (p.number != q.number || p.start != q.start || p.size != q.size || p.type != q.type ||
        p.uuid != q.uuid || p.attributes != q.attributes)
      return false;
  }
  return true;
}

Result<void> WriteTableBackup(const DiskHandle& disk, const DiskModel& model,
                              const TableBackup& backup) {
  std::vector<uint8_t> sector0(kSectorZeroEnd);
  LIFEBOAT_TRY(disk.ReadAt(Bytes{0}, sector0.data(), sector0.size()));
  std::vector<uint8_t> head = backup.head;
  std::memcpy(head.data(), sector0.data(), kTableStart);  // the boot code as it is now
  LIFEBOAT_TRY(disk.WriteAt(Bytes{0}, head.data(), head.size()));
  if (!backup.tail.empty())
    LIFEBOAT_TRY(disk.WriteAt(TailOffset(model, backup), backup.tail.data(), backup.tail.size()));
  LIFEBOAT_TRY(disk.Flush());
  std::vector<uint8_t> head_back(head.size()), tail_back(backup.tail.size());
  LIFEBOAT_TRY(disk.ReadAt(Bytes{0}, head_back.data(), head_back.size()));
  if (!backup.tail.empty())
    LIFEBOAT_TRY(disk.ReadAt(TailOffset(model, backup), tail_back.data(), tail_back.size()));
  if (head_back != head || tail_back != backup.tail)
    return Fail(ErrorCode::kVerification,
                disk.path() + ": the partition table read back differently from what was written");
  if (disk.is_block_device()) {
    auto table = PartitionTable::Open(disk);
    LIFEBOAT_TRY(table);
    LIFEBOAT_TRY(table->AskKernelToReread());
  }
  return {};
}

}  // namespace lifeboat::partition
