// `remove` gathers what is on the disk (its table, its BCD store, the journal), plans the store's
// edit and the partition plan, prints them with --dry-run, and otherwise runs them in that order:
// the entry first, so that no boot entry ever names a partition that is gone. A run that was
// killed is finished by running remove again: the entry is planned anew from the store (an entry
// already gone is nothing to do), and an unfinished partition run is resumed from the journal.
#include "agent/remove_commands.h"

#include <iostream>

#include "agent/apply_commands.h"
#include "agent/json_codec.h"
#include "agent/store_editor.h"
#include "agent/test_points.h"
#include "bcd/entry_removal.h"
#include "bcd/lifeboat_entry.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

// The store as it was before Lifeboat's entry was first added: the newest backup in the journal
// without the entry (apply backs the store up before each edit).
std::optional<bcd::Store> StoreBeforeLifeboat(JournalStore& journal, const std::string& disk_id,
                                              const bcd::Guid& loader) {
  auto backups = journal.BcdBackups(disk_id);
  if (!backups) return std::nullopt;
  for (const auto& bytes : *backups) {
    auto store = ParseStore(bytes);
    if (store && store->Find(loader) == nullptr) return *store;
  }
  return std::nullopt;
}

void PrintRemove(const RemoveReport& r) {
  const Plan& plan = r.partition_plan;
  if (r.result == "unchanged") {
    std::cout << "unchanged: " << r.disk << " has no Lifeboat boot entry and no Lifeboat "
              << "partition; nothing was changed\n";
    return;
  }
  if (r.result == "planned") {
    std::cout << "remove would, on " << r.disk << ":\n";
    if (!r.removed_objects.empty())
      std::cout << "  delete Lifeboat's boot entry from " << r.store << " and put back the links "
                << "of " << r.changed_objects.size() << " object(s)\n";
    if (!plan.NothingToDo()) PrintPlan(plan);
  } else {
    for (const auto& line : r.steps) std::cout << line << "\n";
    std::cout << r.result << ": Lifeboat" << (r.version.empty() ? "" : " " + r.version)
              << " is off " << r.disk;
    if (!plan.NothingToDo() && r.reclaim != "none")
      std::cout << "; its room went to " << (r.reclaim == "windows" ? "Windows" : "WinRE");
    std::cout << "\n";
  }
  for (const auto& note : r.notes) std::cout << "note: " << note << "\n";
}

int PrintReport(const RemoveReport& r, bool json) {
  if (json) {
    std::cout << RemoveReportToJson(r) << "\n";
  } else {
    PrintRemove(r);
  }
  return kExitOk;
}

// Removes the entry from the store: backed up into the journal (run `run`), replaced, read back.
Result<std::string> RemoveEntry(const BootStoreFile& file, const bcd::EntryRemoval& removal,
                                const bcd::Guid& loader, JournalStore& journal, int64_t run,
                                const std::string& disk_id) {
  auto loaded = ReadStoreForEdit(file);
  LIFEBOAT_TRY(loaded);
  LIFEBOAT_TRY(journal.SaveBcdBackup(run, disk_id, loaded->bytes));
  TestPoint("remove:edit-bcd:backed-up");
  auto edited = EditStore(loaded->bytes, removal.save, removal.remove);
  LIFEBOAT_TRY(edited);
  LIFEBOAT_TRY(ReplaceStore(file, *edited, loaded->bytes));
  auto back = ReadStoreForEdit(file);
  LIFEBOAT_TRY(back);
  if (back->store.Find(loader) != nullptr)
    return Fail(ErrorCode::kVerification, file.Describe() + " still holds Lifeboat's entry");
  return "deleted " + std::to_string(removal.remove.size()) + " object(s) of Lifeboat's entry, " +
         "put back the links of " + std::to_string(removal.save.size()) + " object(s)";
}

}  // namespace

int Remove(const RemoveOptions& o) {
  const bool json = o.disk.json;
  auto say = [&](const std::string& line) { (json ? std::cerr : std::cout) << line << "\n"; };
  auto disk = DiskHandle::Open(
      o.disk.disk, o.disk.dry_run ? DiskHandle::Mode::kReadOnly : DiskHandle::Mode::kExclusive,
      std::chrono::seconds(o.disk.lock_wait_seconds));
  if (!disk) return Report(disk.error(), json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), json);
  if (auto safe = RequireSafeLayout(*model); !safe) return Report(safe.error(), json);
  auto journal = OpenJournal(o.disk);
  if (!journal) return Report(journal.error(), json);
  JournalStore& j = **journal;

  RemoveReport report;
  report.disk = o.disk.disk;
  report.reclaim = ReclaimName(o.reclaim);
  if (auto install = j.Install(model->disk_id); install && *install)
    report.version = (*install)->version;

  // The partition plan: an unfinished removal is finished; any other unfinished run comes first.
  int64_t resume_run = 0;
  auto unfinished = j.UnfinishedRun(model->disk_id);
  if (!unfinished) return Report(unfinished.error(), json);
  if (*unfinished && !model->disk_id.empty()) {
    auto saved = PlanFromJson((*unfinished)->plan_json);
    if (!saved) return Report(saved.error(), json);
    if (saved->goal != PlanGoal::kRemoveLifeboat)
      return Report(UnfinishedRunError(o.disk.disk, (*unfinished)->id, *saved, "remove"), json);
    report.partition_plan = *saved;
    report.partition_plan.disk_path = o.disk.disk;
    resume_run = (*unfinished)->id;
  } else {
    auto planned = MakeRemovePlan(*model, o.reclaim);
    if (!planned) return ReportRefusal(planned.error(), o.disk);
    report.partition_plan = *planned;
    report.partition_plan.disk_path = o.disk.disk;
  }

  // The boot entry.
  auto location = LocateBootStore(*model);
  if (!location) return Report(location.error(), json);
  BootStoreFile store_file(o.disk.disk, *location);
  report.store = location->Describe();
  auto boot = GatherBootStore(store_file, *model, j, o.disk.dry_run, say);
  if (!boot) return Report(boot.error(), json);
  if (!boot->store)
    return Report(Refuse("boot-store-unusable",
                         boot->problem->message +
                             "; Lifeboat's partition is kept while a boot entry may still name it")
                      .error(),
                  json);
  const bcd::Guid loader = LoaderGuid(model->disk_id);
  const auto before = StoreBeforeLifeboat(j, model->disk_id, loader);
  const bcd::EntryRemoval removal = bcd::PlanEntryRemoval(
      *boot->store, loader, OptionsGuid(model->disk_id), before ? &*before : nullptr);
  for (const auto& id : removal.remove) report.removed_objects.push_back(id.Text());
  for (const auto& object : removal.save) report.changed_objects.push_back(object.id.Text());
  report.notes = removal.notes;
  if (!removal.NothingToDo() && !before)
    report.notes.push_back(
        "the journal holds no copy of the store from before Lifeboat: its links were taken out, "
        "and a recovery sequence it had taken over points at Windows' WinRE loader if there is "
        "one");

  if (removal.NothingToDo() && report.partition_plan.NothingToDo()) {
    report.result = "unchanged";
    if (!o.disk.dry_run && !report.version.empty()) {
      if (auto r = j.ForgetInstall(model->disk_id); !r) return Report(r.error(), json);
    }
    return PrintReport(report, json);
  }
  if (o.disk.dry_run) {
    report.result = "planned";
    if (!removal.NothingToDo())
      report.steps.push_back("edit-bcd: delete Lifeboat's entry from " + report.store);
    for (const auto& step : report.partition_plan.steps)
      report.steps.push_back(DescribeStep(step, report.partition_plan.sector_size));
    return PrintReport(report, json);
  }

  // Do it: recorded as a run of the apply journal (its steps by name, the store's backup with it).
  auto run =
      j.BeginApply(model->disk_id, o.disk.disk, report.version, "", RemoveReportToJson(report));
  if (!run) return Report(run.error(), json);
  auto fail = [&](const Error& e) {
    (void)j.FinishApply(*run, false, "", e.message);
    return Report(e.Context("remove Lifeboat from " + o.disk.disk +
                            " (running remove again finishes the job)"),
                  json);
  };
  auto event = [&](const std::string& name, StepStatus status, const std::string& message) {
    if (o.disk.events) PrintEvent({0, name, status, 0, 0, message, ""});
  };
  auto step = [&](const std::string& name, auto&& work) -> Result<void> {
    LIFEBOAT_TRY(j.ApplyStepStarted(*run, name));
    TestPoint("remove:" + name + ":before");
    event(name, StepStatus::kStarted, "");
    auto outcome = work();
    if (!outcome) event(name, StepStatus::kFailed, outcome.error().message);
    LIFEBOAT_TRY(outcome);
    LIFEBOAT_TRY(j.ApplyStepDone(*run, name, *outcome));
    event(name, StepStatus::kSucceeded, *outcome);
    TestPoint("remove:" + name + ":after");
    report.steps.push_back(name + ": " + *outcome);
    return {};
  };
  if (!removal.NothingToDo()) {
    say("Removing Lifeboat's boot entry from " + report.store);
    auto done = step("edit-bcd", [&] {
      return RemoveEntry(store_file, removal, loader, j, *run, model->disk_id);
    });
    if (!done) return fail(done.error());
  }
  if (!report.partition_plan.NothingToDo()) {
    auto done = step("remove-partition", [&]() -> Result<std::string> {
      int64_t partition_run = resume_run;
      if (partition_run == 0) {
        auto begun = BeginPartitionRun(report.partition_plan, j);
        LIFEBOAT_TRY(begun);
        partition_run = *begun;
        if (!json) PrintPlan(report.partition_plan);
      } else {
        say("Resuming run " + std::to_string(partition_run) + " from the journal");
      }
      auto lines =
          RunPartitionPlan(report.partition_plan, partition_run, *disk, j, say, o.disk.events);
      LIFEBOAT_TRY(lines);
      return "partition run " + std::to_string(partition_run) + " done (" +
             std::to_string(lines->size()) + " steps)";
    });
    if (!done) return fail(done.error());
  }
  auto recorded = step("record", [&]() -> Result<std::string> {
    LIFEBOAT_TRY(j.ForgetInstall(model->disk_id));
    return std::string("the journal records nothing installed");
  });
  if (!recorded) return fail(recorded.error());
  report.result = resume_run ? "resumed" : "removed";
  if (auto r = j.FinishApply(*run, true, "removed", ""); !r) return Report(r.error(), json);
  return PrintReport(report, json);
}

}  // namespace lifeboat::agent
