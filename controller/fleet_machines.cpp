// Fleet: machines listed in pages, and what operators do to one machine — ask for a boot into
// recovery, change its labels, delete it. (The rest of Fleet is in fleet.cpp.)
#include <algorithm>

#include "controller/fleet.h"

namespace lifeboat::controller {

Result<std::vector<double>> Fleet::LastContactAges() {
  LIFEBOAT_TRY(Flush());
  auto seen = store_.LastSeenTimes();
  LIFEBOAT_TRY(seen);
  const TimePoint now = clock_();
  std::vector<double> ages;
  ages.reserve(seen->size());
  for (const auto& text : *seen) {
    const auto at = ParseTime(text);
    if (at) ages.push_back(std::max(0.0, std::chrono::duration<double>(now - *at).count()));
  }
  return ages;
}

Result<MachinePage> Fleet::FindMachines(const MachineFilter& filter, const std::string& after_id,
                                        uint32_t limit) {
  LIFEBOAT_TRY(Flush());  // the heartbeats queued count for last_seen
  auto page = store_.FindMachines(filter, FormatTime(clock_() - offline_after_), after_id, limit);
  LIFEBOAT_TRY(page);
  for (auto& m : page->machines) m.offline = Offline(m.last_seen);
  return page;
}

Result<MachineRecord> Fleet::RequestBootRecovery(const std::string& machine_id) {
  LIFEBOAT_TRY(store_.SetBootRecovery(machine_id, true));
  {
    std::lock_guard lock(machines_mutex_);
    boot_recovery_.insert(machine_id);
  }
  auto view = Machine(machine_id);
  LIFEBOAT_TRY(view);
  return view->machine;
}

Result<MachineRecord> Fleet::ChangeLabels(const std::string& machine_id,
                                          const std::map<std::string, std::string>& set,
                                          const std::vector<std::string>& remove) {
  auto bad_key = [](const std::string& key) {
    return key.empty() || key.find_first_of("=\r\n") != std::string::npos;
  };
  for (const auto& [key, value] : set) {
    if (bad_key(key) || value.find_first_of("\r\n") != std::string::npos)
      return BadInput("labels", "labels: '" + key + "=" + value + "' is not a label");
  }
  for (const auto& key : remove) {
    if (bad_key(key)) return BadInput("remove", "remove: '" + key + "' is not a label key");
    if (set.contains(key))
      return BadInput("remove", "remove: label " + key + " is both set and removed");
  }
  if (set.empty() && remove.empty()) return BadInput("labels", "labels: nothing to set or remove");
  LIFEBOAT_TRY(store_.ChangeLabels(machine_id, set, remove));
  auto view = Machine(machine_id);
  LIFEBOAT_TRY(view);
  return view->machine;
}

Result<uint64_t> Fleet::DeleteMachine(const std::string& machine_id) {
  std::lock_guard creating(create_mutex_);  // not while a rollout being created may add it
  std::lock_guard state(state_mutex_);
  LIFEBOAT_TRY(LoadOpenRollouts());
  if (auto open = rollout_of_.find(machine_id); open != rollout_of_.end())
    return Fail(ErrorCode::kConflict,
                "machine " + machine_id + " is in rollout " + std::to_string(open->second) +
                    ", which is not finished: wait for it, or abort it, then delete the machine");
  LIFEBOAT_TRY(Flush());  // no heartbeat of it left waiting to be written
  auto attempts = store_.DeleteMachine(machine_id);
  LIFEBOAT_TRY(attempts);
  finished_.clear();  // their counts included it
  std::lock_guard lock(machines_mutex_);
  known_.erase(machine_id);
  boot_recovery_.erase(machine_id);
  return *attempts;
}

bool Fleet::BootRecoveryPending(const std::string& machine_id) {
  std::lock_guard lock(machines_mutex_);
  return boot_recovery_.contains(machine_id);
}

Result<void> Fleet::BootRecoveryDone(const std::string& machine_id) {
  if (!BootRecoveryPending(machine_id)) return {};
  if (auto r = store_.SetBootRecovery(machine_id, false); !r) return r;
  std::lock_guard lock(machines_mutex_);
  boot_recovery_.erase(machine_id);
  return {};
}

}  // namespace lifeboat::controller
