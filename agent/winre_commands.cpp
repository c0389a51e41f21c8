#include "agent/winre_commands.h"

#include <iostream>

#include "agent/json_codec.h"
#include "partition/disk_reader.h"
#include "partition/winre.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

WinReGrowPolicy GrowPolicyFrom(const DiskOptions& o) {
  WinReGrowPolicy policy;
  policy.free = o.free;
  policy.size = o.size;
  policy.shrink_margin = o.shrink_margin;
  return policy;
}

void PrintSummary(const DiskModel& d, const WinReSummary& s) {
  if (s.winre == nullptr) {
    std::cout << d.path << ": no WinRE partition\n";
    return;
  }
  const Partition& p = *s.winre;
  std::cout << "WinRE: partition " << p.number << " of " << d.path << ", sectors " << p.start.value
            << "-" << p.End().value - 1 << " (" << HumanSize(ToBytes(p.size, d.sector_size))
            << " at byte " << ToBytes(p.start, d.sector_size).value << ")\n"
            << "type " << p.type;
  if (d.label == LabelKind::kGpt) {
    char attributes[24];
    std::snprintf(attributes, sizeof attributes, "0x%016llx",
                  static_cast<unsigned long long>(p.attributes));
    std::cout << ", attributes " << attributes << ", GUID " << p.uuid;
  }
  std::cout << "\n";
  if (s.free) {
    std::cout << "free: " << HumanSize(*s.free) << " of "
              << (p.ntfs && p.ntfs->volume_size ? HumanSize(*p.ntfs->volume_size)
                                                : std::string("?"))
              << "\n";
    if (s.missing && s.missing->value > 0)
      std::cout << "Windows' WinRE update needs " << HumanSize(kWinReUpdateFree)
                << " free (KB5034441): " << HumanSize(*s.missing)
                << " short; `lifeboat-agent winre grow " << d.path << " --free 250MB` fixes that\n";
    else
      std::cout << "enough for Windows' WinRE update (" << HumanSize(kWinReUpdateFree)
                << " free, KB5034441)\n";
  } else {
    std::cout << "free: unknown (not looked inside: run as root)\n";
  }
  std::cout << (s.follows_windows ? "directly behind Windows" : "not directly behind Windows")
            << "; " << HumanSize(ToBytes(s.room_behind, d.sector_size))
            << " unallocated behind it\n";
}

}  // namespace

int WinReShow(const DiskOptions& o) {
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kReadOnly);
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  const WinReSummary summary = SummarizeWinRe(*model);
  if (o.json)
    std::cout << WinReSummaryToJson(*model, summary) << "\n";
  else
    PrintSummary(*model, summary);
  return kExitOk;
}

int WinReGrow(const DiskOptions& o) {
  const Planner planner = [&](const DiskModel& model) {
    return MakeWinReGrowPlan(model, GrowPolicyFrom(o));
  };
  if (o.dry_run) {
    auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kReadOnly);
    if (!disk) return Report(disk.error(), o.json);
    auto model = ReadDisk(*disk);
    if (!model) return Report(model.error(), o.json);
    auto plan = planner(*model);
    if (!plan) return Report(RefusalError(plan.error()), o.json);
    if (o.json)
      std::cout << PlanToJson(*plan) << "\n";
    else
      PrintPlan(*plan);
    return kExitOk;
  }
  auto disk = DiskHandle::Open(o.disk, DiskHandle::Mode::kExclusive,
                               std::chrono::seconds(o.lock_wait_seconds));
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  auto store = OpenJournal(o);
  if (!store) return Report(store.error(), o.json);
  auto say = [&](const std::string& line) { (o.json ? std::cerr : std::cout) << line << "\n"; };
  auto grown = PrepareDisk(o, *disk, *model, **store, say, planner);
  if (!grown) return Report(grown.error(), o.json);
  if (auto* refusal = std::get_if<Refusal>(&*grown)) return Report(RefusalError(*refusal), o.json);
  const auto& outcome = std::get<PrepareOutcome>(*grown);
  const Plan& plan = outcome.plan;
  const std::string result = outcome.result == "prepared" ? "grown" : outcome.result;
  if (o.json) {
    std::cout << PrepareResultToJson(result, plan, outcome.lines, outcome.run) << "\n";
  } else {
    const std::string what = plan.goal == PlanGoal::kGrowWinRe
                                 ? "WinRE is"
                                 : "(an unfinished disk prepare was finished) Lifeboat's "
                                   "partition is";
    std::cout << result << ": " << what << " "
              << HumanSize(ToBytes(plan.recovery_size, plan.sector_size)) << " at sector "
              << plan.recovery_start.value << "\n";
  }
  return kExitOk;
}

}  // namespace lifeboat::agent
