#include "agent/restore_commands.h"

#include <algorithm>
#include <cstring>
#include <iostream>

#include "agent/apply_plan.h"
#include "agent/boot_store.h"
#include "agent/json_codec.h"
#include "agent/recovery_volume.h"
#include "agent/store_editor.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"
#include "partition/restore.h"
#include "partition/table_backup.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

// Whether the disk's table sectors already hold the backup (sector 0 from byte 440 on: the boot
// code is not part of the table).
Result<bool> TableIsBackup(const DiskHandle& disk, const DiskModel& model,
                           const TableBackup& backup) {
  std::vector<uint8_t> head(backup.head.size()), tail(backup.tail.size());
  LIFEBOAT_TRY(disk.ReadAt(Bytes{0}, head.data(), head.size()));
  if (!tail.empty())
    LIFEBOAT_TRY(disk.ReadAt(model.Size() - Bytes{tail.size()}, tail.data(), tail.size()));
  constexpr size_t kTableStart = 440;
  return head.size() >= kTableStart &&
         std::memcmp(head.data() + kTableStart, backup.head.data() + kTableStart,
                     head.size() - kTableStart) == 0 &&
         tail == backup.tail;
}

// Why restoring would lose something Lifeboat's partition holds, if it does: a boot entry naming
// it, or files written into it since it was made.
Result<std::optional<Error>> LifeboatInUse(const std::string& path, const DiskModel& model) {
  const Partition* lifeboat = model.WithRole(Role::kLifeboat);
  if (lifeboat == nullptr) return std::optional<Error>{};
  auto location = LocateBootStore(model);
  if (!location)
    return std::optional<Error>{Refuse("boot-store-unusable", location.error().message).error()};
  BootStoreFile file(path, *location);
  auto store = ReadStoreForEdit(file);
  if (!store)
    return std::optional<Error>{
        Refuse("boot-store-unusable", "cannot read " + file.Describe() +
                                          " to check that no "
                                          "boot entry names Lifeboat's partition: " +
                                          store.error().message)
            .error()};
  if (store->store.Find(LoaderGuid(model.disk_id)) != nullptr)
    return std::optional<Error>{
        Refuse("lifeboat-installed",
               path + ": Lifeboat's boot entry in " + file.Describe() +
                   " names its partition; take it off first (`lifeboat-agent remove " + path +
                   "`, which can also give the room back)")
            .error()};
  auto volume = RecoveryVolume::Open(path, model, *lifeboat, false);
  LIFEBOAT_TRY(volume);
  auto contents = (*volume)->Contents();
  LIFEBOAT_TRY(contents);
  LIFEBOAT_TRY((*volume)->Close());
  if (!contents->empty()) {
    std::string names;
    for (const auto& n : *contents) names += (names.empty() ? "" : ", ") + n;
    return std::optional<Error>{
        Refuse("lifeboat-in-use", path + ": Lifeboat's partition " +
                                      std::to_string(lifeboat->number) +
                                      " holds what was written into it after it was made (" +
                                      names + "); restoring the table would drop it")
            .error()};
  }
  return std::optional<Error>{};
}

// Whether a later run only deleted Lifeboat's partition (`remove --reclaim none`): what the
// restore does first anyway, so it does not stand in its way.
bool OnlyTookLifeboatAway(const std::string& plan_json) {
  auto plan = PlanFromJson(plan_json);
  if (!plan || plan->goal != PlanGoal::kRemoveLifeboat) return false;
  return std::all_of(plan->steps.begin(), plan->steps.end(), [](const Step& s) {
    return std::holds_alternative<BackupTableStep>(s) ||
           std::holds_alternative<DeletePartitionStep>(s);
  });
}

}  // namespace

int DiskRestore(const DiskOptions& o, int64_t run_id) {
  const bool json = o.json;
  auto say = [&](const std::string& line) { (json ? std::cerr : std::cout) << line << "\n"; };
  auto disk = DiskHandle::Open(
      o.disk, o.dry_run ? DiskHandle::Mode::kReadOnly : DiskHandle::Mode::kExclusive,
      std::chrono::seconds(o.lock_wait_seconds));
  if (!disk) return Report(disk.error(), json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), json);
  auto journal = OpenJournal(o);
  if (!journal) return Report(journal.error(), json);
  JournalStore& j = **journal;

  // A restore of this run cut short is finished by PrepareDisk below; any other unfinished run
  // first.
  auto unfinished = j.UnfinishedRun(model->disk_id);
  if (!unfinished) return Report(unfinished.error(), json);
  bool resuming = false;
  if (*unfinished && !model->disk_id.empty()) {
    auto saved = PlanFromJson((*unfinished)->plan_json);
    if (!saved) return Report(saved.error(), json);
    const bool ours = saved->goal == PlanGoal::kRestoreTable && !saved->steps.empty() &&
                      std::get_if<RestoreTableStep>(&saved->steps.back()) &&
                      std::get<RestoreTableStep>(saved->steps.back()).run == run_id;
    if (!ours)
      return Report(UnfinishedRunError(o.disk, (*unfinished)->id, *saved, "restore"), json);
    resuming = true;
  }
  if (!resuming) {
    auto record = j.Run(run_id);
    if (!record) return Report(record.error(), json);
    if (!*record || (*record)->disk_id != model->disk_id)
      return Report({ErrorCode::kNotFound, "the journal in " + o.state_dir + " has no run " +
                                               std::to_string(run_id) + " on " + o.disk +
                                               " (disk id " + model->disk_id + ")"},
                    json);
    if ((*record)->state != "done")
      return Report(Refuse("run-unfinished", "run " + std::to_string(run_id) +
                                                 " did not finish; `lifeboat-agent disk prepare " +
                                                 o.disk + "` finishes it, then it can be undone")
                        .error(),
                    json);
    auto backup = j.TableBackup(run_id);
    if (!backup) return Report(backup.error(), json);
    if (!*backup)
      return Report(Refuse("no-backup", "run " + std::to_string(run_id) +
                                            " saved no partition table: it changed nothing")
                        .error(),
                    json);
    auto same = TableIsBackup(*disk, *model, **backup);
    if (!same) return Report(same.error(), json);
    if (*same) {
      if (json) {
        Plan none;
        none.goal = PlanGoal::kRestoreTable;
        none.disk_path = o.disk;
        none.disk_id = model->disk_id;
        none.label = model->label;
        none.sector_size = model->sector_size;
        std::cout << PrepareResultToJson("unchanged", none, {}) << "\n";
      } else {
        std::cout << "unchanged: " << o.disk << " already has the table run " << run_id
                  << " saved; nothing was changed\n";
      }
      return kExitOk;
    }
    auto later = j.FinishedRunsAfter(model->disk_id, run_id);
    if (!later) return Report(later.error(), json);
    for (int64_t id : *later) {
      auto later_run = j.Run(id);
      if (!later_run) return Report(later_run.error(), json);
      if (*later_run && OnlyTookLifeboatAway((*later_run)->plan_json)) continue;
      return Report(
          Refuse("later-run", "run " + std::to_string(id) + " changed " + o.disk + " after run " +
                                  std::to_string(run_id) + "; only the newest change can be undone")
              .error(),
          json);
    }
    if (auto safe = RequireSafeLayout(*model); !safe) return Report(safe.error(), json);
  }

  Planner planner = [&](const DiskModel& current) -> std::expected<Plan, Refusal> {
    auto record = j.Run(run_id);
    auto backup = j.TableBackup(run_id);
    if (!record || !*record || !backup || !*backup)
      return std::unexpected(Refusal{RefusalReason::kTableChanged,
                                     "cannot read run " + std::to_string(run_id) + " back"});
    auto plan = PlanFromJson((*record)->plan_json);
    auto original = ReadTableBackup(**backup, current);
    if (!plan || !original)
      return std::unexpected(
          Refusal{RefusalReason::kTableChanged,
                  "run " + std::to_string(run_id) + "'s plan or table backup cannot be read: " +
                      (!plan ? plan.error().message : original.error().message)});
    return MakeRestorePlan(current, *original, *plan, run_id);
  };
  if (!resuming) {
    // The table first (the planner), then what the restore would give away.
    auto plan = planner(*model);
    if (!plan) return ReportRefusal(plan.error(), o);
    auto in_use = LifeboatInUse(o.disk, *model);
    if (!in_use) return Report(in_use.error(), json);
    if (*in_use) return Report(**in_use, json);
  }
  if (o.dry_run) {
    auto plan = planner(*model);
    if (!plan) return ReportRefusal(plan.error(), o);
    if (json) {
      std::cout << PlanToJson(*plan) << "\n";
    } else {
      PrintPlan(*plan);
    }
    return kExitOk;
  }
  auto restored = PrepareDisk(o, *disk, *model, j, say, planner);
  if (!restored) return Report(restored.error(), json);
  if (auto* refusal = std::get_if<Refusal>(&*restored)) return ReportRefusal(*refusal, o);
  const auto& outcome = std::get<PrepareOutcome>(*restored);
  const std::string result = outcome.result == "prepared" ? "restored" : outcome.result;
  if (json) {
    std::cout << PrepareResultToJson(result, outcome.plan, outcome.lines, outcome.run) << "\n";
  } else {
    std::cout << result << ": " << o.disk << " has the partition table it had before run " << run_id
              << "\n";
  }
  return kExitOk;
}

}  // namespace lifeboat::agent
