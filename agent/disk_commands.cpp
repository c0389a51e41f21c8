#include "agent/disk_commands.h"

#include <cstdio>
#include <iostream>

#include "agent/journal_mirror.h"
#include "agent/journal_store.h"
#include "agent/json_codec.h"
#include "agent/step_event.h"
#include "agent/test_points.h"
#include "agent/winre_follow.h"
#include "partition/disk_handle.h"
#include "partition/disk_reader.h"
#include "partition/executor.h"
#include "partition/layout_check.h"
#include "partition/planner.h"

namespace lifeboat::agent {

using namespace partition;

int ExitFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kNotFound:
      return kExitNotFound;
    case ErrorCode::kBusy:
      return kExitBusy;
    case ErrorCode::kRefused:
      return kExitRefused;
    default:
      return kExitError;
  }
}

int Report(const Error& e, bool json) {
  if (json) {
    std::cout << ErrorToJson(e) << "\n";
  } else {
    std::cerr << "lifeboat-agent: " << e.message << "\n";
  }
  return ExitFor(e);
}

namespace {

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string TypeName(const std::string& type) {
  if (type == types::kGptEsp) return "EFI System";
  if (type == types::kGptMsr) return "Microsoft reserved";
  if (type == types::kGptBasicData) return "Microsoft basic data";
  if (type == types::kGptRecovery) return "Windows recovery";
  if (type == types::kMbrNtfs) return "0x07 NTFS/exFAT";
  if (type == types::kMbrRecovery) return "0x27 recovery";
  if (type == types::kMbrEsp) return "0xef EFI";
  return type;
}

void PrintDisk(const DiskModel& d) {
  std::cout << "Disk " << d.path << ": " << HumanSize(d.Size()) << ", " << d.total.count
            << " sectors of " << d.sector_size << " bytes (physical " << d.physical_sector_size
            << ")\n";
  std::cout << "Label: " << LabelName(d.label)
            << (d.disk_id.empty() ? "" : ", disk id " + d.disk_id) << "\n";
  if (d.needs_repair) std::cout << "NEEDS REPAIR: " << d.repair_reason << "\n";
  for (const auto& problem : CheckLayout(d)) std::cout << "UNSAFE: " << problem.message << "\n";
  if (!d.partitions.empty()) {
    std::cout << "\n"
              << Pad("#", 3) << Pad("start", 12) << Pad("end", 12) << Pad("size", 11)
              << Pad("type", 22) << Pad("fs", 10) << Pad("role", 16) << "name / label\n";
  }
  for (const auto& p : d.partitions) {
    std::string extra = p.name;
    if (!p.fs_label.empty()) extra += (extra.empty() ? "" : " / ") + p.fs_label;
    if (p.bootable) extra += " [active]";
    std::cout << Pad(std::to_string(p.number), 3) << Pad(std::to_string(p.start.value), 12)
              << Pad(std::to_string(p.End().value - 1), 12)
              << Pad(HumanSize(ToBytes(p.size, d.sector_size)), 11) << Pad(TypeName(p.type), 22)
              << Pad(FilesystemName(p.filesystem), 10) << Pad(RoleName(p.role), 16) << extra
              << "\n";
    if (d.label == LabelKind::kGpt &&
        (p.attributes || p.role == Role::kWinRe || p.role == Role::kLifeboat)) {
      char attrs[24];
      std::snprintf(attrs, sizeof attrs, "0x%016llx",
                    static_cast<unsigned long long>(p.attributes));
      std::cout << "   guid " << p.uuid << ", attributes " << attrs << "\n";
    }
    if (p.ntfs) {
      std::cout << "   ntfs: " << (p.ntfs->has_windows_dir ? "holds \\Windows" : "no \\Windows");
      if (p.ntfs->min_size) std::cout << ", can shrink to " << HumanSize(*p.ntfs->min_size);
      if (p.ntfs->dirty) std::cout << ", MARKED FOR CHKDSK";
      if (p.ntfs->hibernated) std::cout << ", HIBERNATED";
      std::cout << "\n";
    }
  }
  for (const auto& f : d.free) {
    std::cout << "free: sectors " << f.start.value << "-" << (f.start + f.size).value - 1 << " ("
              << HumanSize(ToBytes(f.size, d.sector_size)) << ")\n";
  }
  for (const auto& n : d.notes) std::cout << "note: " << n << "\n";
}

}  // namespace

void PrintPlan(const Plan& plan) {
  const bool winre = plan.goal == PlanGoal::kGrowWinRe;
  const bool remove =
      plan.goal == PlanGoal::kRemoveLifeboat || plan.goal == PlanGoal::kRestoreTable;
  const std::string size = HumanSize(ToBytes(plan.recovery_size, plan.sector_size));
  if (plan.NothingToDo()) {
    if (remove) {
      std::cout << "Nothing to do: " << plan.disk_path << " has no Lifeboat partition.\n";
      return;
    }
    std::cout << "Nothing to do: " << (winre ? "WinRE" : "Lifeboat's partition") << " at sector "
              << plan.recovery_start.value << " (" << size << ") is large enough.\n";
    return;
  }
  std::cout << "Plan for " << plan.disk_path << " (" << LabelName(plan.label) << " " << plan.disk_id
            << "): ";
  if (remove) {
    std::cout << "Lifeboat's " << size << " partition (" << plan.recovery_uuid << ") at sector "
              << plan.recovery_start.value << " removed"
              << (plan.goal == PlanGoal::kRestoreTable ? ", the saved table back" : "") << "\n";
  } else {
    std::cout << "a " << size
              << (winre ? " WinRE partition (" + plan.recovery_uuid + ")"
                        : std::string(" Lifeboat recovery partition"))
              << " at sector " << plan.recovery_start.value << "\n";
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    std::cout << "  " << i + 1 << ". " << DescribeStep(plan.steps[i], plan.sector_size) << "\n";
  }
  for (const auto& n : plan.notes) std::cout << "  note: " << n << "\n";
}

PlanPolicy PolicyFrom(const DiskOptions& o) {
  PlanPolicy policy;
  policy.recovery_size = o.size.value_or(DefaultRecoverySize(o.image_size));
  policy.image_size = o.image_size;
  policy.shrink_margin = o.shrink_margin;
  policy.allow_gpt_repair = o.allow_gpt_repair;
  return policy;
}

Error UnfinishedRunError(const std::string& disk, int64_t run, const Plan& plan,
                         const std::string& then) {
  std::string finish = "disk prepare " + disk;
  if (plan.goal == PlanGoal::kGrowWinRe) finish = "winre grow " + disk;
  if (plan.goal == PlanGoal::kRemoveLifeboat) finish = "remove " + disk;
  if (plan.goal == PlanGoal::kRestoreTable && !plan.steps.empty())
    if (const auto* last = std::get_if<RestoreTableStep>(&plan.steps.back()))
      finish = "disk restore " + disk + " --run " + std::to_string(last->run);
  return Refuse("unfinished-run", disk + " is between two layouts: journal run " +
                                      std::to_string(run) + " (" + PlanGoalName(plan.goal) +
                                      ") did not finish; `lifeboat-agent " + finish +
                                      "` finishes it, then " + then)
      .error();
}

int ReportRefusal(const Refusal& r, const DiskOptions& o) {
  if (o.json) {
    std::cout << RefusalToJson(r) << "\n";
  } else {
    std::cerr << "lifeboat-agent: refused (" << RefusalName(r.reason) << "): " << r.message
              << "\nNothing was changed.\n";
  }
  return RefusalExit(r);
}

Error RefusalError(const Refusal& r) {
  const std::string reason = RefusalName(r.reason);
  if (r.reason == RefusalReason::kInvalidPolicy)
    return {ErrorCode::kInvalidArgument, reason + ": " + r.message};
  return {ErrorCode::kRefused, reason + ": " + r.message, {}, reason};
}

int RefusalExit(const Refusal& r) {
  // A size the user asked for that no disk could take is their input's fault: a usage error.
  return r.reason == RefusalReason::kInvalidPolicy ? kExitUsage : kExitRefused;
}

int DiskShow(const DiskOptions& o) {
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kReadOnly);
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  if (o.json) {
    std::cout << DiskToJson(*model) << "\n";
  } else {
    PrintDisk(*model);
  }
  return kExitOk;
}

int DiskPlan(const DiskOptions& o) {
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kReadOnly);
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  auto plan = MakePlan(*model, PolicyFrom(o));
  if (!plan) return ReportRefusal(plan.error(), o);
  if (o.json) {
    std::cout << PlanToJson(*plan) << "\n";
  } else {
    PrintPlan(*plan);
  }
  return kExitOk;
}

Result<std::variant<PrepareOutcome, Refusal>> PrepareDisk(
    const DiskOptions& o, const DiskHandle& disk, const DiskModel& model, JournalStore& store,
    const std::function<void(const std::string&)>& say, const Planner& planner) {
  PrepareOutcome outcome;
  outcome.result = "prepared";
  int64_t run = 0;
  auto unfinished = store.UnfinishedRun(model.disk_id);
  LIFEBOAT_TRY(unfinished);
  if (*unfinished && !model.disk_id.empty()) {
    auto saved = PlanFromJson((*unfinished)->plan_json);
    LIFEBOAT_TRY(saved);
    outcome.plan = *saved;
    outcome.plan.disk_path = o.disk;
    run = (*unfinished)->id;
    outcome.result = "resumed";
    say("Resuming run " + std::to_string(run) + " from the journal" +
        ((*unfinished)->message.empty() ? std::string()
                                        : " (it stopped with: " + (*unfinished)->message + ")"));
  } else {
    auto made = planner ? planner(model) : MakePlan(model, PolicyFrom(o));
    if (!made) return made.error();
    outcome.plan = *made;
    if (outcome.plan.NothingToDo()) {
      outcome.result = "unchanged";
      return outcome;
    }
    outcome.plan.disk_path = o.disk;
    auto begun = BeginPartitionRun(outcome.plan, store);
    LIFEBOAT_TRY(begun);
    run = *begun;
    if (!o.json) PrintPlan(outcome.plan);
  }
  auto done = RunPartitionPlan(outcome.plan, run, disk, store, say, o.events);
  LIFEBOAT_TRY(done);
  outcome.lines = *done;
  outcome.run = run;
  return outcome;
}

Result<int64_t> BeginPartitionRun(const Plan& plan, JournalStore& store) {
  std::vector<std::pair<std::string, std::string>> steps;
  for (const auto& s : plan.steps)
    steps.emplace_back(StepKind(s), DescribeStep(s, plan.sector_size));
  return store.BeginRun(plan.disk_id, plan.disk_path, PlanToJson(plan), steps);
}

void PrintEvent(const StepEvent& event) { std::cerr << EventLine(event) << std::endl; }

Result<std::vector<std::string>> RunPartitionPlan(
    const Plan& plan, int64_t run, const DiskHandle& disk, JournalStore& store,
    const std::function<void(const std::string&)>& say, bool events) {
  auto journal = store.ForRun(run);
  ExecuteOptions exec;
  exec.report = say;
  if (events) exec.event = PrintEvent;
  exec.at_point = TestPoint;
  exec.retarget_winre = [&](const RetargetWinReStep& step, uint64_t progress,
                            const std::function<Result<void>(uint64_t)>& record) {
    return FollowMovedWinRe(disk, step, store, progress, record);
  };
  exec.table_backup = [&](int64_t backup_run) -> Result<TableBackup> {
    auto backup = store.TableBackup(backup_run);
    LIFEBOAT_TRY(backup);
    if (!*backup)
      return Fail(ErrorCode::kNotFound,
                  "the journal holds no table backup of run " + std::to_string(backup_run));
    return **backup;
  };
  auto done = ExecutePlan(plan, disk, *journal, exec);
  if (!done) {
    (void)store.FinishRun(run, false, done.error().message);
    return std::unexpected(
        done.error().Context("prepare " + plan.disk_path + " (run " + std::to_string(run) +
                             " is kept in the journal; running again resumes it)"));
  }
  LIFEBOAT_TRY(store.FinishRun(run, true, ""));
  return *done;
}

Result<std::unique_ptr<JournalStore>> OpenJournal(const DiskOptions& o) {
  return JournalStore::Open(o.state_dir + "/journal.db", o.journal_mirror.empty()
                                                             ? JournalStore::Mirror{}
                                                             : JournalMirrorAt(o.journal_mirror));
}

int DiskPrepare(const DiskOptions& o) {
  if (o.dry_run) return DiskPlan(o);
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kExclusive,
                               std::chrono::seconds(o.lock_wait_seconds));
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  auto store = OpenJournal(o);
  if (!store) return Report(store.error(), o.json);
  auto say = [&](const std::string& line) { (o.json ? std::cerr : std::cout) << line << "\n"; };
  auto prepared = PrepareDisk(o, *disk, *model, **store, say);
  if (!prepared) return Report(prepared.error(), o.json);
  if (auto* refusal = std::get_if<Refusal>(&*prepared)) return ReportRefusal(*refusal, o);
  const auto& outcome = std::get<PrepareOutcome>(*prepared);
  const Plan& plan = outcome.plan;
  if (o.json) {
    std::cout << PrepareResultToJson(outcome.result, plan, outcome.lines, outcome.run) << "\n";
  } else if (outcome.result == "unchanged") {
    std::cout << "unchanged: " << o.disk << " already has Lifeboat's partition at sector "
              << plan.recovery_start.value << " ("
              << HumanSize(ToBytes(plan.recovery_size, plan.sector_size))
              << "); nothing was changed\n";
  } else {
    std::cout << outcome.result << ": Lifeboat's recovery partition is ready at sector "
              << plan.recovery_start.value << " ("
              << HumanSize(ToBytes(plan.recovery_size, plan.sector_size)) << "); journal run "
              << outcome.run << " (`disk restore " << o.disk << " --run " << outcome.run
              << "` undoes it)\n";
  }
  return kExitOk;
}

}  // namespace lifeboat::agent
