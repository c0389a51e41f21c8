// The one wrapper around libfdisk. Reads a disk's partition table into a DiskModel and applies
// edits to it. Edits change libfdisk's in-memory table only; Write() commits them in one go
// (GPT: both copies and the protective MBR; MBR: sector 0) and tells the kernel about the new
// table on block devices. Blocks on disk I/O.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "partition/disk_handle.h"
#include "partition/disk_model.h"

struct fdisk_context;

namespace lifeboat::partition {

struct NewPartition {
  Lba start;
  Sectors size;
  std::string type;         // GPT type GUID or MBR "0x27"
  std::string name;         // GPT only
  uint64_t attributes = 0;  // GPT only
  std::string uuid;         // GPT only; empty: libfdisk makes one
};

class PartitionTable {
 public:
  // Reads the table of an open disk. Changes nothing, even when libfdisk would repair a GPT:
  // that is reported as DiskModel::needs_repair and only written by an explicit Write().
  [[nodiscard]] static Result<PartitionTable> Open(const DiskHandle& disk);
  PartitionTable(PartitionTable&&) noexcept;
  PartitionTable& operator=(PartitionTable&&) noexcept;
  ~PartitionTable();

  // Label, geometry, partitions and free regions; filesystems are left for DiskReader to probe.
  [[nodiscard]] Result<DiskModel> Read() const;
  // The table in sfdisk's dump format: `sfdisk DISK < dump` restores it.
  [[nodiscard]] Result<std::string> Dump() const;

  [[nodiscard]] Result<void> SetSize(uint32_t number, Sectors size);
  [[nodiscard]] Result<void> SetStart(uint32_t number, Lba start);
  // Empties the partition's slot; the other partitions keep their numbers.
  [[nodiscard]] Result<void> Delete(uint32_t number);
  // Replaces the table in memory with an empty MBR whose disk signature is `signature` (what
  // boot configuration names the disk by); Write() puts it on disk. For media that are wiped.
  [[nodiscard]] Result<void> StartMbr(uint32_t signature);
  // MBR: marks partition `number` active, the one the BIOS boot code starts.
  [[nodiscard]] Result<void> SetBootable(uint32_t number);
  // Returns the new partition's number (MBR: the lowest free primary slot).
  [[nodiscard]] Result<uint32_t> Add(const NewPartition& partition);
  // Commits the edits. On block devices also asks the kernel to re-read the changed partitions;
  // where the kernel cannot (loop devices without partition scanning) that is a warning.
  [[nodiscard]] Result<void> Write();

  // Asks the kernel to re-read the whole table of a block device (after it was written other
  // than through Write()). Where it cannot, that is a message, as for Write().
  [[nodiscard]] Result<void> AskKernelToReread();

  // libfdisk's own warnings and informational messages since the last call.
  std::vector<std::string> TakeMessages();

 private:
  explicit PartitionTable(const DiskHandle& disk);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lifeboat::partition
