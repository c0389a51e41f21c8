// Crash contract: see executor.h. This file performs the dangerous operations.
#include "partition/executor.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "partition/disk_reader.h"
#include "partition/filesystem_probe.h"
#include "partition/ntfs_tools.h"
#include "partition/partition_table.h"

namespace lifeboat::partition {
namespace {

constexpr uint64_t kMaxChunk = 4 * 1024 * 1024;
// The shrink step's progress once ntfsresize's real run has been launched.
constexpr uint64_t kNtfsresizeLaunched = 1;

class Runner {
 public:
  Runner(const Plan& plan, const DiskHandle& disk, Journal& journal, const ExecuteOptions& options)
      : plan_(plan), disk_(disk), journal_(journal), options_(options), ss_(plan.sector_size) {}

  Result<std::vector<std::string>> Run() {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    if (model->disk_id != plan_.disk_id || model->sector_size != plan_.sector_size) {
      return Refuse("wrong-disk", disk_.path() +
                                      " is not the disk this plan was made for (disk id " +
                                      model->disk_id + ", plan is for " + plan_.disk_id +
                                      "); nothing was changed");
    }
    std::vector<std::string> done;
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      const Step& step = plan_.steps[i];
      auto record = journal_.Step(i);
      LIFEBOAT_TRY(record);
      const std::string title = "step " + std::to_string(i + 1) + "/" +
                                std::to_string(plan_.steps.size()) + ": " + DescribeStep(step, ss_);
      if (record->done) {
        done.push_back(title + ": done earlier");
        continue;
      }
      Report(title + (record->started ? " (resuming)" : ""));
      AtPoint(std::to_string(i) + ":before");
      LIFEBOAT_TRY(journal_.StepStarted(i));
      const std::string kind = StepKind(step);
      Event(kind, StepStatus::kStarted, record->started ? "resuming" : "");
      index_ = i;
      progress_ = record->progress;
      auto outcome = std::visit([this](const auto& s) { return Do(s); }, step);
      if (!outcome) {
        Event(kind, StepStatus::kFailed, outcome.error().message);
        return std::unexpected(
            outcome.error().Context(kind + " (step " + std::to_string(i + 1) + ")"));
      }
      LIFEBOAT_TRY(journal_.StepDone(i, *outcome));
      Event(kind, StepStatus::kSucceeded, *outcome);
      AtPoint(std::to_string(i) + ":after");
      done.push_back(title + ": " + *outcome);
    }
    return done;
  }

 private:
  void Report(const std::string& line) const {
    if (options_.report) options_.report(line);
  }

  void Event(const std::string& step, StepStatus status, const std::string& message) const {
    if (options_.event) options_.event(StepEvent{0, step, status, 0, 0, message, ""});
  }

  void AtPoint(const std::string& point) const {
    if (options_.at_point) options_.at_point(point);
  }

  Result<DiskModel> ReadTable() const {
    auto table = PartitionTable::Open(disk_);
    LIFEBOAT_TRY(table);
    return table->Read();
  }

  Result<Partition> Find(uint32_t number) const {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    for (const auto& p : model->partitions) {
      if (p.number == number) return p;
    }
    return Fail(ErrorCode::kNotFound,
                "partition " + std::to_string(number) + " is gone from " + disk_.path());
  }

  // Opens the table, lets `change` edit it, writes it, and returns partition `number` as the
  // table now shows it (for the step to verify).
  template <typename Change>
  Result<Partition> Rewrite(uint32_t number, Change change) const {
    auto table = PartitionTable::Open(disk_);
    LIFEBOAT_TRY(table);
    LIFEBOAT_TRY(change(*table));
    LIFEBOAT_TRY(Commit(*table));
    return Find(number);
  }

  Result<void> Commit(PartitionTable& table) const {
    if (auto r = table.Write(); !r) return r;
    for (const auto& m : table.TakeMessages()) Report("  libfdisk: " + m);
    return disk_.Flush();
  }

  PartitionLocation Location(Lba start, Sectors size) const {
    return {disk_.path(), ToBytes(start, ss_), ToBytes(size, ss_), ss_};
  }

  // The size of the NTFS volume of partition `number` at `offset`. kVerification: no NTFS there.
  Result<Bytes> VolumeSize(uint32_t number, Bytes offset) const {
    auto size = ReadNtfsVolumeSize(disk_, offset);
    LIFEBOAT_TRY(size);
    if (!*size)
      return Fail(ErrorCode::kVerification,
                  "partition " + std::to_string(number) + " no longer holds NTFS");
    return **size;
  }

  // An ntfsresize of this step, journalled. Progress 1 records that the real ntfsresize was
  // launched on the volume, which the planner found clean: a check flag seen after that is the
  // one ntfsresize sets before it changes anything, and a cut-short run may be taken up again.
  ResizeOptions Journalled() {
    ResizeOptions options;
    options.own_check_flag = progress_ >= kNtfsresizeLaunched;
    options.before_resize = [this]() -> Result<void> {
      if (auto r = journal_.StepProgress(index_, kNtfsresizeLaunched); !r) return r;
      AtPoint(std::to_string(index_) + ":launched");
      return {};
    };
    return options;
  }

  Result<std::vector<uint8_t>> ReadSectors(Lba start, Sectors count) const {
    std::vector<uint8_t> bytes(ToBytes(count, ss_).value);
    LIFEBOAT_TRY(disk_.ReadAt(ToBytes(start, ss_), bytes.data(), bytes.size()));
    return bytes;
  }

  Result<std::string> Do(const BackupTableStep&) {
    auto table = PartitionTable::Open(disk_);
    LIFEBOAT_TRY(table);
    auto model = table->Read();
    LIFEBOAT_TRY(model);
    auto dump = table->Dump();
    LIFEBOAT_TRY(dump);
    auto head = ReadSectors(
        Lba{0}, model->label == LabelKind::kGpt ? model->first_usable - Lba{0} : Sectors{1});
    LIFEBOAT_TRY(head);
    std::vector<uint8_t> tail;
    if (model->label == LabelKind::kGpt) {
      const Lba backup_start = model->last_usable + Sectors{1};
      auto t = ReadSectors(backup_start, Lba{model->total.count} - backup_start);
      LIFEBOAT_TRY(t);
      tail = std::move(*t);
    }
    LIFEBOAT_TRY(journal_.SaveTableBackup(*head, tail, *dump));
    return "saved " + std::to_string(head->size() + tail.size()) + " bytes of partition table";
  }

  Result<std::string> Do(const ShrinkNtfsStep& s) {
    auto part = Find(s.number);
    LIFEBOAT_TRY(part);
    if (part->start != s.start) {
      return Fail(ErrorCode::kVerification, "partition " + std::to_string(s.number) +
                                                " starts at sector " +
                                                std::to_string(part->start.value) + ", not " +
                                                std::to_string(s.start.value) + " as planned");
    }
    const Bytes offset = ToBytes(part->start, ss_);
    auto before = VolumeSize(s.number, offset);
    LIFEBOAT_TRY(before);
    if (*before <= s.new_size)
      return std::string("already " + HumanSize(*before) + ", nothing to shrink");
    LIFEBOAT_TRY(ShrinkNtfs(Location(part->start, part->size), s.new_size, Journalled()));
    auto after = ReadNtfsVolumeSize(disk_, offset);
    LIFEBOAT_TRY(after);
    if (!*after || **after > s.new_size) {
      return Fail(ErrorCode::kVerification,
                  "after ntfsresize the NTFS volume is still larger than " + HumanSize(s.new_size));
    }
    return "NTFS shrunk from " + HumanSize(*before) + " to " + HumanSize(**after);
  }

  Result<std::string> Do(const ResizePartitionStep& s) {
    auto part = Find(s.number);
    LIFEBOAT_TRY(part);
    if (part->size == s.new_size)
      return std::string("already " + HumanSize(ToBytes(s.new_size, ss_)));
    // Never cut into a filesystem: the NTFS volume must already fit.
    auto fs = ReadNtfsVolumeSize(disk_, ToBytes(part->start, ss_));
    LIFEBOAT_TRY(fs);
    if (!*fs || **fs > ToBytes(s.new_size, ss_)) {
      return Fail(ErrorCode::kVerification,
                  "the filesystem of partition " + std::to_string(s.number) + " does not fit in " +
                      HumanSize(ToBytes(s.new_size, ss_)) + "; the partition was left as it is");
    }
    auto check =
        Rewrite(s.number, [&](PartitionTable& t) { return t.SetSize(s.number, s.new_size); });
    LIFEBOAT_TRY(check);
    if (check->size != s.new_size)
      return Fail(ErrorCode::kVerification, "the table still shows the old size");
    return "partition " + std::to_string(s.number) + " is now " +
           HumanSize(ToBytes(s.new_size, ss_));
  }

  Result<std::string> Do(const MovePartitionStep& s) {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    const Partition* part = nullptr;
    for (const auto& p : model->partitions) {
      if (p.number == s.number) part = &p;
    }
    if (!part)
      return Fail(ErrorCode::kNotFound, "partition " + std::to_string(s.number) + " is gone");
    if (part->uuid != s.uuid)
      return Fail(ErrorCode::kVerification,
                  "partition " + std::to_string(s.number) + " is no longer " + s.uuid);
    if (part->start == s.to) return std::string("already at sector " + std::to_string(s.to.value));
    if (part->start != s.from || part->size != s.size) {
      return Fail(ErrorCode::kVerification,
                  "partition " + std::to_string(s.number) + " is not where the plan found it");
    }
    for (const auto& p : model->partitions) {
      if (p.number != s.number && p.End() > s.to && p.start < s.to + s.size) {
        return Fail(ErrorCode::kVerification, "partition " + std::to_string(p.number) +
                                                  " still occupies the space partition " +
                                                  std::to_string(s.number) + " moves into");
      }
    }
    LIFEBOAT_TRY(s.to < s.from ? CopyDown(s) : CopyUp(s));
    auto check = Rewrite(s.number, [&](PartitionTable& t) { return t.SetStart(s.number, s.to); });
    LIFEBOAT_TRY(check);
    if (check->start != s.to || check->size != s.size || check->uuid != s.uuid) {
      return Fail(ErrorCode::kVerification, "the table does not show partition " +
                                                std::to_string(s.number) + " at its new place");
    }
    return "moved " + HumanSize(ToBytes(s.size, ss_)) + " to sector " + std::to_string(s.to.value) +
           ", GUID kept";
  }

  // A move's copy, in chunks no larger than the distance moved, in the direction that never
  // overwrites a chunk's source before it is copied: a restart from the last recorded progress
  // (bytes copied, from the start for a move down, from the end for a move up) is safe.
  Result<void> CopyDown(const MovePartitionStep& s) {
    const Bytes src = ToBytes(s.from, ss_), dst = ToBytes(s.to, ss_);
    return Copy(
        s, (src - dst).value, [&](uint64_t done, uint64_t) { return done; }, src, dst);
  }
  Result<void> CopyUp(const MovePartitionStep& s) {
    const Bytes src = ToBytes(s.from, ss_), dst = ToBytes(s.to, ss_);
    const uint64_t total = ToBytes(s.size, ss_).value;
    return Copy(
        s, (dst - src).value, [&](uint64_t done, uint64_t n) { return total - done - n; }, src,
        dst);
  }
  template <typename Where>
  Result<void> Copy(const MovePartitionStep& s, uint64_t distance, Where where, Bytes src,
                    Bytes dst) {
    const uint64_t total = ToBytes(s.size, ss_).value;
    const uint64_t chunk = std::min<uint64_t>(kMaxChunk, distance);
    std::vector<uint8_t> buffer(chunk);
    uint64_t done = progress_;
    int chunks = 0;
    int last_percent = -1;
    while (done < total) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, total - done));
      const Bytes at{where(done, n)};
      LIFEBOAT_TRY(disk_.ReadAt(src + at, buffer.data(), n));
      LIFEBOAT_TRY(disk_.WriteAt(dst + at, buffer.data(), n));
      LIFEBOAT_TRY(disk_.Flush());
      done += n;
      LIFEBOAT_TRY(journal_.StepProgress(index_, done));
      AtPoint(std::to_string(index_) + ":chunk:" + std::to_string(++chunks));
      const int percent = static_cast<int>(done * 100 / total);
      if (percent / 10 != last_percent / 10) Report("  copied " + std::to_string(percent) + "%");
      last_percent = percent;
    }
    return {};
  }

  Result<std::string> Do(const RestoreTableStep& s) {
    if (!options_.table_backup)
      return Fail(ErrorCode::kUnsupported, "nothing here can read the journal's table backups");
    auto backup = options_.table_backup(s.run);
    LIFEBOAT_TRY(backup);
    auto current = ReadTable();
    LIFEBOAT_TRY(current);
    auto saved = ReadTableBackup(*backup, *current);
    LIFEBOAT_TRY(saved);
    // Only bytes that say what the table says already: the partitions must be where the saved
    // table has them (the steps before put them there).
    if (!SamePartitions(*current, *saved))
      return Fail(ErrorCode::kVerification,
                  "the partitions are not where run " + std::to_string(s.run) +
                      "'s saved table has them; the table was left as it is");
    LIFEBOAT_TRY(WriteTableBackup(disk_, *current, *backup));
    auto after = ReadTable();
    LIFEBOAT_TRY(after);
    if (!SamePartitions(*after, *saved))
      return Fail(ErrorCode::kVerification,
                  "the table read back is not run " + std::to_string(s.run) + "'s saved table");
    return "the table from before run " + std::to_string(s.run) + " is back, byte for byte";
  }

  Result<std::string> Do(const DeletePartitionStep& s) {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    const Partition* part = nullptr;
    for (const auto& p : model->partitions) {
      if (p.uuid == s.uuid) part = &p;
    }
    if (!part) return std::string("already gone");
    // Only ever the partition the plan found: the same slot, place, type and GUID.
    if (part->number != s.number || part->start != s.start || part->size != s.size ||
        part->type != s.type)
      return Fail(ErrorCode::kVerification, "partition " + s.uuid +
                                                " is not the one the plan found (partition " +
                                                std::to_string(s.number) + " at sector " +
                                                std::to_string(s.start.value) + "); left as it is");
    auto table = PartitionTable::Open(disk_);
    LIFEBOAT_TRY(table);
    LIFEBOAT_TRY(table->Delete(s.number));
    LIFEBOAT_TRY(Commit(*table));
    auto after = ReadTable();
    LIFEBOAT_TRY(after);
    if (std::any_of(after->partitions.begin(), after->partitions.end(),
                    [&](const Partition& p) { return p.uuid == s.uuid; }))
      return Fail(ErrorCode::kVerification, "the table still shows partition " + s.uuid);
    return "deleted partition " + std::to_string(s.number);
  }

  Result<std::string> Do(const CreatePartitionStep& s) {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    for (const auto& p : model->partitions) {
      if (p.start == s.start && p.size == s.size && p.type == s.type &&
          (s.uuid.empty() || p.uuid == s.uuid))
        return std::string("already there");
      if (p.End() > s.start && p.start < s.start + s.size) {
        return Fail(ErrorCode::kVerification, "partition " + std::to_string(p.number) +
                                                  " occupies the space planned for Lifeboat");
      }
    }
    auto table = PartitionTable::Open(disk_);
    LIFEBOAT_TRY(table);
    auto number = table->Add({s.start, s.size, s.type, s.name, s.attributes, s.uuid});
    LIFEBOAT_TRY(number);
    LIFEBOAT_TRY(Commit(*table));
    return "created partition " + std::to_string(*number) +
           (s.uuid.empty() ? std::string() : " (" + s.uuid + ")");
  }

  Result<std::string> Do(const RetargetWinReStep& s) {
    if (!options_.retarget_winre)
      return Fail(ErrorCode::kUnsupported, "nothing here can edit the BCD and ReAgent.xml");
    return options_.retarget_winre(
        s, progress_, [this](uint64_t done) { return journal_.StepProgress(index_, done); });
  }

  Result<std::string> Do(const GrowNtfsStep& s) {
    auto part = Find(s.number);
    LIFEBOAT_TRY(part);
    if (part->start != s.start || ToBytes(part->size, ss_) < s.new_size)
      return Fail(ErrorCode::kVerification,
                  "partition " + std::to_string(s.number) + " is not at sector " +
                      std::to_string(s.start.value) + " with " + HumanSize(s.new_size) +
                      " as planned; its NTFS volume was left as it is");
    const Bytes offset = ToBytes(part->start, ss_);
    auto before = VolumeSize(s.number, offset);
    LIFEBOAT_TRY(before);
    // A volume filling its partition lacks only its last cluster at most (the backup boot
    // sector's), far less than a mebibyte.
    if (*before + kMiB > s.new_size) return "already " + HumanSize(*before) + ", nothing to grow";
    ResizeOptions options = Journalled();
    options.own_check_flag = options.own_check_flag || s.own_check_flag;
    LIFEBOAT_TRY(GrowNtfs(Location(part->start, part->size), options));
    auto after = ReadNtfsVolumeSize(disk_, offset);
    LIFEBOAT_TRY(after);
    if (!*after || **after + kMiB <= s.new_size)
      return Fail(ErrorCode::kVerification,
                  "after ntfsresize the NTFS volume still does not fill " + HumanSize(s.new_size));
    return "NTFS grown from " + HumanSize(*before) + " to " + HumanSize(**after);
  }

  Result<std::string> Do(const FormatNtfsStep& s) {
    auto model = ReadTable();
    LIFEBOAT_TRY(model);
    const bool ours =
        std::any_of(model->partitions.begin(), model->partitions.end(), [&](const Partition& p) {
          return p.start == s.start && p.size == s.size &&
                 (p.type == types::kGptRecovery || p.type == types::kMbrRecovery);
        });
    // Formatting destroys what is there: only ever the partition this plan created.
    if (!ours)
      return Fail(ErrorCode::kVerification, "no Lifeboat partition at sector " +
                                                std::to_string(s.start.value) + " to format");
    LIFEBOAT_TRY(FormatNtfs(Location(s.start, s.size), s.start, s.label));
    auto fs = ProbeFilesystem(disk_, ToBytes(s.start, ss_), ToBytes(s.size, ss_));
    LIFEBOAT_TRY(fs);
    if (fs->kind != FilesystemKind::kNtfs || fs->label != s.label) {
      return Fail(ErrorCode::kVerification,
                  "after mkntfs the partition does not hold NTFS labelled " + s.label);
    }
    return "formatted NTFS '" + s.label + "'";
  }

  const Plan& plan_;
  const DiskHandle& disk_;
  Journal& journal_;
  const ExecuteOptions& options_;
  const uint32_t ss_;
  size_t index_ = 0;
  uint64_t progress_ = 0;
};

}  // namespace

Result<std::vector<std::string>> ExecutePlan(const Plan& plan, const DiskHandle& disk,
                                             Journal& journal, const ExecuteOptions& options) {
  if (!disk.writable())
    return Fail(ErrorCode::kInvalidArgument, disk.path() + " is open read-only");
  auto result = Runner(plan, disk, journal, options).Run();
  if (!result) return result;
  LIFEBOAT_TRY(VerifyPlanResult(plan, disk));
  return result;
}

Result<void> VerifyPlanResult(const Plan& plan, const DiskHandle& disk) {
  auto model = ReadDisk(disk, {.look_inside_ntfs = false});
  LIFEBOAT_TRY(model);
  if (plan.goal == PlanGoal::kGrowWinRe) {
    // WinRE, still itself (its GUID), where and as large as planned, its volume filling it.
    const auto winre =
        std::find_if(model->partitions.begin(), model->partitions.end(),
                     [&](const Partition& p) { return p.uuid == plan.recovery_uuid; });
    if (winre == model->partitions.end() || winre->start != plan.recovery_start ||
        winre->size != plan.recovery_size)
      return Fail(ErrorCode::kVerification, disk.path() + ": WinRE (" + plan.recovery_uuid +
                                                ") is not where or as large as planned");
    auto fs = ReadNtfsVolumeSize(disk, ToBytes(winre->start, model->sector_size));
    LIFEBOAT_TRY(fs);
    if (!*fs || **fs + kMiB <= ToBytes(winre->size, model->sector_size))
      return Fail(ErrorCode::kVerification,
                  disk.path() + ": WinRE's NTFS volume does not fill its partition");
  } else if (plan.goal == PlanGoal::kRemoveLifeboat || plan.goal == PlanGoal::kRestoreTable) {
    // Lifeboat's partition gone; what took its room fills what it was given (below, the moves).
    if (std::any_of(model->partitions.begin(), model->partitions.end(),
                    [&](const Partition& p) { return p.uuid == plan.recovery_uuid; }))
      return Fail(ErrorCode::kVerification,
                  disk.path() + ": Lifeboat's partition " + plan.recovery_uuid + " is still there");
    for (const auto& step : plan.steps) {
      const auto* grow = std::get_if<GrowNtfsStep>(&step);
      if (!grow) continue;
      const auto p = std::find_if(model->partitions.begin(), model->partitions.end(),
                                  [&](const Partition& q) { return q.start == grow->start; });
      auto fs = p == model->partitions.end()
                    ? Result<std::optional<Bytes>>(std::nullopt)
                    : ReadNtfsVolumeSize(disk, ToBytes(grow->start, model->sector_size));
      LIFEBOAT_TRY(fs);
      if (!*fs || ToBytes(p->size, model->sector_size) < grow->new_size ||
          **fs + kMiB <= grow->new_size)
        return Fail(ErrorCode::kVerification,
                    disk.path() + ": partition " + std::to_string(grow->number) +
                        " and its NTFS volume do not fill the room given back");
    }
  } else {
    const Partition* lifeboat = model->WithRole(Role::kLifeboat);
    if (!lifeboat)
      return Fail(ErrorCode::kVerification, disk.path() + ": no Lifeboat partition after the run");
    if (lifeboat->start != plan.recovery_start || lifeboat->size < plan.recovery_size) {
      return Fail(ErrorCode::kVerification,
                  disk.path() + ": Lifeboat's partition is not where or as large as planned");
    }
    if (lifeboat->filesystem != FilesystemKind::kNtfs) {
      return Fail(ErrorCode::kVerification, disk.path() + ": Lifeboat's partition holds no NTFS");
    }
  }
  for (const auto& step : plan.steps) {
    if (const auto* move = std::get_if<MovePartitionStep>(&step)) {
      const bool kept =
          std::any_of(model->partitions.begin(), model->partitions.end(), [&](const Partition& p) {
            // (A moved WinRE may be grown after its move.)
            return p.uuid == move->uuid && p.start == move->to && p.size >= move->size;
          });
      if (!kept)
        return Fail(ErrorCode::kVerification, disk.path() + ": moved partition " + move->uuid +
                                                  " is not at sector " +
                                                  std::to_string(move->to.value));
    }
  }
  for (const auto& p : model->partitions) {
    if (p.filesystem != FilesystemKind::kNtfs) continue;
    auto fs = ReadNtfsVolumeSize(disk, ToBytes(p.start, model->sector_size));
    LIFEBOAT_TRY(fs);
    if (*fs && **fs > ToBytes(p.size, model->sector_size)) {
      return Fail(ErrorCode::kVerification, disk.path() + ": the NTFS volume of partition " +
                                                std::to_string(p.number) +
                                                " is larger than its partition");
    }
  }
  return {};
}

}  // namespace lifeboat::partition
