#include "partition/partition_table.h"

#include <libfdisk/libfdisk.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace lifeboat::partition {

struct PartitionTable::State {
  fdisk_context* cxt = nullptr;
  fdisk_table* original = nullptr;  // the table as read, for telling the kernel what changed
  bool assigned = false;            // libfdisk asserts when a device it never took is deassigned
  std::string path;
  bool is_block_device = false;
  std::vector<std::string> messages;

  ~State() {
    if (original) fdisk_unref_table(original);
    if (cxt) {
      // nosync: our DiskHandle owns the descriptor and flushes.
      if (assigned) fdisk_deassign_device(cxt, 1);
      fdisk_unref_context(cxt);
    }
  }
};

namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Routes libfdisk's messages into our list instead of its terminal dialogs.
int OnAsk(fdisk_context*, fdisk_ask* ask, void* data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  switch (fdisk_ask_get_type(ask)) {
    case FDISK_ASKTYPE_INFO:
    case FDISK_ASKTYPE_WARN:
    case FDISK_ASKTYPE_WARNX:
      if (const char* m = fdisk_ask_print_get_mesg(ask)) messages->push_back(m);
      return 0;
    default:
      return -1;  // a question we did not expect: refuse rather than guess an answer
  }
}

Error FdiskError(int rc, const std::string& what) {
  return {ErrorCode::kIo, what + ": libfdisk error " + std::to_string(rc)};
}

// Sector 0 (MBR) and sector 1 (GPT header) of the largest logical sector size.
constexpr Bytes kSmallestDisk{2 * 4096};

// libfdisk numbers partitions from 0; people and sfdisk from 1.
size_t Index(uint32_t number) { return number - 1; }

}  // namespace

PartitionTable::PartitionTable(const DiskHandle& disk) : state_(std::make_unique<State>()) {
  state_->path = disk.path();
  state_->is_block_device = disk.is_block_device();
}
PartitionTable::PartitionTable(PartitionTable&&) noexcept = default;
PartitionTable& PartitionTable::operator=(PartitionTable&&) noexcept = default;
PartitionTable::~PartitionTable() = default;

Result<PartitionTable> PartitionTable::Open(const DiskHandle& disk) {
  PartitionTable table(disk);
  State& s = *table.state_;
  s.cxt = fdisk_new_context();
  if (!s.cxt) return Fail(ErrorCode::kIo, "libfdisk: out of memory");
  fdisk_set_ask(s.cxt, OnAsk, &s.messages);
  fdisk_disable_dialogs(s.cxt, 1);
  // Smaller than a protective MBR plus a GPT header, no table can be there; libfdisk would refuse
  // with a bare errno.
  if (disk.size() < kSmallestDisk) {
    return Fail(ErrorCode::kInvalidArgument,
                disk.path() + " is " + std::to_string(disk.size().value) +
                    " bytes: too small to be a disk (a partition table needs at least " +
                    std::to_string(kSmallestDisk.value) + " bytes)");
  }
  int rc =
      fdisk_assign_device_by_fd(s.cxt, disk.fd(), disk.path().c_str(), disk.writable() ? 0 : 1);
  if (rc != 0)
    return std::unexpected(FdiskError(rc, disk.path() + ": cannot read the partition table"));
  s.assigned = true;
  if (fdisk_has_label(s.cxt)) fdisk_get_partitions(s.cxt, &s.original);
  return table;
}

Result<DiskModel> PartitionTable::Read() const {
  fdisk_context* cxt = state_->cxt;
  DiskModel model;
  model.path = state_->path;
  model.is_block_device = state_->is_block_device;
  model.sector_size = static_cast<uint32_t>(fdisk_get_sector_size(cxt));
  model.physical_sector_size = static_cast<uint32_t>(fdisk_get_physector_size(cxt));
  model.total = Sectors{fdisk_get_nsectors(cxt)};
  if (!fdisk_has_label(cxt)) return model;

  fdisk_label* label = fdisk_get_label(cxt, nullptr);
  const bool gpt = fdisk_is_label(cxt, GPT);
  if (!gpt && !fdisk_is_label(cxt, DOS)) {
    return Fail(ErrorCode::kUnsupported, state_->path + ": partition table type '" +
                                             fdisk_label_get_name(label) + "' is not GPT or MBR");
  }
  model.label = gpt ? LabelKind::kGpt : LabelKind::kMbr;
  model.first_usable = Lba{fdisk_get_first_lba(cxt)};
  model.last_usable = Lba{fdisk_get_last_lba(cxt)};
  model.max_primary = gpt ? static_cast<uint32_t>(fdisk_get_npartitions(cxt)) : 4;
  if (fdisk_label_is_changed(label)) {
    // Right after opening, "changed" means libfdisk repaired something in memory: a corrupt
    // primary GPT replaced by the backup, or a backup header that is not at the end of the disk.
    model.needs_repair = true;
    for (const auto& m : state_->messages)
      model.repair_reason += (model.repair_reason.empty() ? "" : "; ") + m;
    if (model.repair_reason.empty())
      model.repair_reason = "libfdisk repaired the partition table in memory";
  }
  char* id = nullptr;
  if (fdisk_get_disklabel_id(cxt, &id) == 0 && id) {
    model.disk_id = gpt ? Upper(id) : id;
    std::free(id);
  }

  fdisk_table* tb = nullptr;
  if (int rc = fdisk_get_partitions(cxt, &tb); rc != 0)
    return std::unexpected(FdiskError(rc, state_->path));
  fdisk_iter* itr = fdisk_new_iter(FDISK_ITER_FORWARD);
  fdisk_partition* pa = nullptr;
  while (fdisk_table_next_partition(tb, itr, &pa) == 0) {
    if (!fdisk_partition_is_used(pa)) continue;
    Partition p;
    p.number = static_cast<uint32_t>(fdisk_partition_get_partno(pa) + 1);
    p.start = Lba{fdisk_partition_get_start(pa)};
    p.size = Sectors{fdisk_partition_get_size(pa)};
    if (fdisk_parttype* t = fdisk_partition_get_type(pa)) {
      if (gpt) {
        p.type = Upper(fdisk_parttype_get_string(t) ? fdisk_parttype_get_string(t) : "");
      } else {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", fdisk_parttype_get_code(t));
        p.type = code;
      }
    }
    if (gpt) {
      if (const char* name = fdisk_partition_get_name(pa)) p.name = name;
      if (const char* uuid = fdisk_partition_get_uuid(pa)) p.uuid = Upper(uuid);
      uint64_t attrs = 0;
      if (fdisk_gpt_get_partition_attrs(cxt, Index(p.number), &attrs) == 0) p.attributes = attrs;
    } else {
      p.uuid = model.disk_id + "-" + std::to_string(p.number);
      p.bootable = fdisk_partition_is_bootable(pa) == 1;
      p.container = fdisk_partition_is_container(pa) == 1;
    }
    model.partitions.push_back(std::move(p));
  }
  fdisk_free_iter(itr);
  fdisk_unref_table(tb);
  std::sort(model.partitions.begin(), model.partitions.end(),
            [](const Partition& a, const Partition& b) { return a.start < b.start; });

  fdisk_table* free_tb = nullptr;
  if (fdisk_get_freespaces(cxt, &free_tb) == 0 && free_tb) {
    fdisk_iter* fitr = fdisk_new_iter(FDISK_ITER_FORWARD);
    while (fdisk_table_next_partition(free_tb, fitr, &pa) == 0) {
      // libfdisk counts the gaps between entries, also entries that lie past the disk (a damaged
      // table): free space is only ever what lies within the usable sectors.
      const uint64_t start =
          std::max<uint64_t>(fdisk_partition_get_start(pa), model.first_usable.value);
      const uint64_t end =
          std::min<uint64_t>(fdisk_partition_get_start(pa) + fdisk_partition_get_size(pa),
                             model.last_usable.value + 1);
      if (start < end) model.free.push_back({Lba{start}, Sectors{end - start}});
    }
    fdisk_free_iter(fitr);
    fdisk_unref_table(free_tb);
  }
  return model;
}

Result<std::string> PartitionTable::Dump() const {
  fdisk_script* script = fdisk_new_script(state_->cxt);
  if (!script) return Fail(ErrorCode::kIo, "libfdisk: out of memory");
  std::string text;
  int rc = fdisk_script_read_context(script, nullptr);
  if (rc == 0) {
    char* buffer = nullptr;
    size_t length = 0;
    FILE* f = open_memstream(&buffer, &length);
    rc = f ? fdisk_script_write_file(script, f) : -1;
    if (f) std::fclose(f);
    if (buffer) {
      text.assign(buffer, length);
      std::free(buffer);
    }
  }
  fdisk_unref_script(script);
  if (rc != 0)
    return std::unexpected(FdiskError(rc, state_->path + ": cannot dump the partition table"));
  return text;
}

Result<void> PartitionTable::SetSize(uint32_t number, Sectors size) {
  fdisk_partition* pa = fdisk_new_partition();
  fdisk_partition_set_size(pa, size.count);
  int rc = fdisk_set_partition(state_->cxt, Index(number), pa);
  fdisk_unref_partition(pa);
  if (rc != 0) return std::unexpected(FdiskError(rc, "resize partition " + std::to_string(number)));
  return {};
}

Result<void> PartitionTable::SetStart(uint32_t number, Lba start) {
  fdisk_partition* current = nullptr;
  if (int rc = fdisk_get_partition(state_->cxt, Index(number), &current); rc != 0) {
    return std::unexpected(FdiskError(rc, "read partition " + std::to_string(number)));
  }
  const uint64_t size = fdisk_partition_get_size(current);
  fdisk_unref_partition(current);
  // Start and size together: libfdisk keeps the end otherwise, which would change the size.
  fdisk_partition* pa = fdisk_new_partition();
  fdisk_partition_set_start(pa, start.value);
  fdisk_partition_set_size(pa, size);
  int rc = fdisk_set_partition(state_->cxt, Index(number), pa);
  fdisk_unref_partition(pa);
  if (rc != 0) return std::unexpected(FdiskError(rc, "move partition " + std::to_string(number)));
  return {};
}

Result<void> PartitionTable::Delete(uint32_t number) {
  if (int rc = fdisk_delete_partition(state_->cxt, Index(number)); rc != 0)
    return std::unexpected(FdiskError(rc, "delete partition " + std::to_string(number)));
  return {};
}

Result<void> PartitionTable::StartMbr(uint32_t signature) {
  fdisk_context* cxt = state_->cxt;
  if (int rc = fdisk_create_disklabel(cxt, "dos"); rc != 0)
    return std::unexpected(FdiskError(rc, state_->path + ": cannot start an MBR"));
  char id[16];
  std::snprintf(id, sizeof id, "0x%08x", signature);
  if (int rc = fdisk_set_disklabel_id_from_string(cxt, id); rc != 0)
    return std::unexpected(FdiskError(rc, state_->path + ": cannot set the disk signature"));
  return {};
}

Result<void> PartitionTable::SetBootable(uint32_t number) {
  fdisk_context* cxt = state_->cxt;
  if (!fdisk_is_label(cxt, DOS))
    return Fail(ErrorCode::kUnsupported, state_->path + ": only an MBR has an active partition");
  if (int rc = fdisk_toggle_partition_flag(cxt, number - 1, DOS_FLAG_ACTIVE); rc != 0)
    return std::unexpected(
        FdiskError(rc, state_->path + ": cannot mark partition " + std::to_string(number)));
  return {};
}

Result<uint32_t> PartitionTable::Add(const NewPartition& partition) {
  fdisk_context* cxt = state_->cxt;
  fdisk_label* label = fdisk_get_label(cxt, nullptr);
  const bool gpt = fdisk_is_label(cxt, GPT);
  fdisk_parttype* type = nullptr;
  size_t partno = 0;
  if (gpt) {
    type = fdisk_label_get_parttype_from_string(label, partition.type.c_str());
    while (partno < fdisk_get_npartitions(cxt) && fdisk_is_partition_used(cxt, partno)) ++partno;
  } else {
    type = fdisk_label_get_parttype_from_code(
        label, static_cast<unsigned>(std::strtoul(partition.type.c_str(), nullptr, 16)));
    while (partno < 4 && fdisk_is_partition_used(cxt, partno)) ++partno;
    if (partno == 4)
      return Refuse("no-free-primary-slot", "MBR has no free primary partition slot");
  }
  if (!type) return Fail(ErrorCode::kInvalidArgument, "unknown partition type " + partition.type);
  fdisk_partition* pa = fdisk_new_partition();
  fdisk_partition_set_partno(pa, partno);
  fdisk_partition_set_start(pa, partition.start.value);
  fdisk_partition_set_size(pa, partition.size.count);
  fdisk_partition_set_type(pa, type);
  if (gpt && !partition.name.empty()) fdisk_partition_set_name(pa, partition.name.c_str());
  if (gpt && !partition.uuid.empty()) fdisk_partition_set_uuid(pa, partition.uuid.c_str());
  size_t added = 0;
  int rc = fdisk_add_partition(cxt, pa, &added);
  fdisk_unref_partition(pa);
  if (rc != 0)
    return std::unexpected(
        FdiskError(rc, "create partition at sector " + std::to_string(partition.start.value)));
  if (gpt && partition.attributes != 0) {
    if (int arc = fdisk_gpt_set_partition_attrs(cxt, added, partition.attributes); arc != 0) {
      return std::unexpected(
          FdiskError(arc, "set attributes of partition " + std::to_string(added + 1)));
    }
  }
  return static_cast<uint32_t>(added + 1);
}

Result<void> PartitionTable::Write() {
  if (int rc = fdisk_write_disklabel(state_->cxt); rc != 0) {
    return std::unexpected(FdiskError(rc, state_->path + ": cannot write the partition table"));
  }
  if (state_->is_block_device && state_->original) {
    if (fdisk_reread_changes(state_->cxt, state_->original) != 0) {
      state_->messages.push_back("the kernel could not re-read the partition table of " +
                                 state_->path + "; it keeps the old one until the next reboot");
    }
  }
  return {};
}

Result<void> PartitionTable::AskKernelToReread() {
  if (state_->is_block_device && fdisk_reread_partition_table(state_->cxt) != 0)
    state_->messages.push_back("the kernel could not re-read the partition table of " +
                               state_->path + "; it keeps the old one until the next reboot");
  return {};
}

std::vector<std::string> PartitionTable::TakeMessages() {
  return std::exchange(state_->messages, {});
}

}  // namespace lifeboat::partition
