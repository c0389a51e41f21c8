// Fleet's rollouts as operators see them: created (in steps, for a large one), viewed, listed a
// page of machines at a time, their state changed. (Heartbeats and reports are in fleet.cpp; pause,
// resume, abort and rollback in fleet_rollout_control.cpp.)
#include <algorithm>
#include <iterator>
#include <thread>

#include "common/sha256.h"
#include "common/version.h"
#include "controller/fleet.h"

namespace lifeboat::controller {

namespace {

// Between the transactions that store a new rollout's members: long enough for the threads
// waiting for the store (the heartbeat batcher) to take it.
constexpr std::chrono::milliseconds kPauseBetweenSteps{3};

}  // namespace

Result<Fleet::StoredRollout> Fleet::ReadStoredRollout(const RolloutRecord& rollout) {
  if (auto kept = finished_.find(rollout.id);
      kept != finished_.end() && kept->second.view.rollout.state == rollout.state)
    return kept->second;
  auto members = store_.Members(rollout.id);
  LIFEBOAT_TRY(members);
  auto evaluation = EvaluateAndSkip(rollout, *members);
  LIFEBOAT_TRY(evaluation);
  std::vector<Member> plain;
  plain.reserve(members->size());
  for (const auto& m : *members) plain.push_back(m.member);
  StoredRollout stored{{rollout, *evaluation},
                       TallyMembers(rollout.spec, rollout.wave_ends, plain)};
  auto changed = RecordOutcome(stored.view.rollout, stored.view.evaluation);
  LIFEBOAT_TRY(changed);
  if (stored.view.rollout.state != rollout.state || !evaluation->to_skip.empty())
    loaded_ = false;  // the cache reloads what changed
  if (Finished(stored.view.rollout.state)) finished_[rollout.id] = stored;
  return stored;
}

Result<void> Fleet::CheckImageToInstall(const RolloutSpec& spec) {
  auto image = store_.FindImage(spec.image_version);
  LIFEBOAT_TRY(image);
  if (!*image) return Fail(ErrorCode::kNotFound, "image_version: no image " + spec.image_version);
  if ((*image)->retired) {
    return Fail(ErrorCode::kConflict, "image_version: " + spec.image_version + " is retired");
  }
  if (Expired((*image)->expires, TodayUtc(clock_()))) {
    return Fail(ErrorCode::kConflict,
                "image_version: " + spec.image_version + " expired on " + (*image)->expires +
                    " (its recipe's `expires`): agents would refuse it; build and publish a "
                    "current image");
  }
  if ((*image)->signature.manifest.empty() && !spec.allow_unsigned) {
    return Fail(ErrorCode::kConflict,
                "image_version: " + spec.image_version +
                    " is not signed, and agents install only images signed by a key they trust: "
                    "publish it again with --sign-key, or allow an unsigned rollout explicitly "
                    "(allow_unsigned, lifeboatctl rollout create --allow-unsigned) for agents "
                    "that trust no keys");
  }
  return {};
}

Result<RolloutView> Fleet::CreateRollout(const RolloutSpec& spec, uint64_t rollback_of) {
  LIFEBOAT_TRY(ValidateSpec(spec));
  if (spec.job.kind == JobKind::kInstall) LIFEBOAT_TRY(CheckImageToInstall(spec));
  std::lock_guard creating(create_mutex_);
  // The targets' ids and last_seen, read a page at a time: heartbeats are written in between.
  std::vector<std::pair<std::string, std::string>> targets;
  if (!spec.selector.machine_ids.empty()) {
    for (const auto& id : spec.selector.machine_ids) {
      auto m = store_.FindMachine(id);
      LIFEBOAT_TRY(m);
      if (!*m) return Fail(ErrorCode::kNotFound, "selector.machine_ids: no machine " + id);
      targets.emplace_back(id, (*m)->last_seen);
    }
  } else {
    for (std::string after;;) {
      auto page = store_.MachineIdsPage(spec.selector.labels, after, 5000);
      LIFEBOAT_TRY(page);
      if (page->empty()) break;
      after = page->back().first;
      std::move(page->begin(), page->end(), std::back_inserter(targets));
    }
  }
  // One open rollout per machine: machines in another are left out, and the rollout says so. The
  // cache knows them (it is never behind the store).
  std::vector<size_t> chosen;
  {
    std::lock_guard lock(state_mutex_);
    LIFEBOAT_TRY(LoadOpenRollouts());
    for (size_t i = 0; i < targets.size(); ++i)
      if (!rollout_of_.contains(targets[i].first)) chosen.push_back(i);
  }
  const size_t busy = targets.size() - chosen.size();
  if (chosen.empty()) {
    return Fail(ErrorCode::kConflict,
                "selector: no machine to target (" + std::to_string(targets.size()) + " matched, " +
                    std::to_string(busy) + " of them in another unfinished rollout)");
  }
  // A stable spread: early waves are not always the same machines (ordered by hash, not by name).
  const std::string salt = spec.job.kind == JobKind::kInstall
                               ? spec.image_version
                               : DescribeJob(spec.job, spec.image_version);
  std::vector<std::pair<std::string, size_t>> keyed;
  keyed.reserve(chosen.size());
  for (size_t i : chosen) {
    const std::string seed = salt + "/" + targets[i].first;
    keyed.emplace_back(Sha256Hex({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()}), i);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> ids;
  std::vector<MemberRecord> members(keyed.size());
  ids.reserve(keyed.size());
  for (size_t p = 0; p < keyed.size(); ++p) {
    const auto& [id, last_seen] = targets[keyed[p].second];
    ids.push_back(id);
    members[p].member = {id,    static_cast<uint32_t>(p), MemberState::kPending, 0, std::nullopt,
                         false, ParseTime(last_seen)};
  }
  RolloutRecord record;
  record.spec = spec;
  record.state = RolloutState::kActive;
  record.rollback_of = rollback_of;
  record.wave_ends = WaveEnds(spec.waves, static_cast<uint32_t>(ids.size()));
  if (busy)
    record.message =
        std::to_string(busy) + " matching machine(s) left out: in another unfinished rollout";
  // Stored in steps of a few milliseconds each (FleetStore::BeginRollout); no read sees it until
  // it is whole. Between the steps the heartbeats waiting to be written go first: the store's
  // mutex is not fair, and a loop that takes it again at once kept them waiting for seconds.
  auto id = store_.BeginRollout(record);
  LIFEBOAT_TRY(id);
  for (size_t first = 0; first < ids.size(); first += kMembersPerTransaction) {
    const size_t n = std::min(kMembersPerTransaction, ids.size() - first);
    const auto from = ids.begin() + static_cast<std::ptrdiff_t>(first);
    auto added = store_.AddMembers(*id, {from, from + static_cast<std::ptrdiff_t>(n)},
                                   static_cast<uint32_t>(first));
    if (!added) {
      (void)store_.DiscardRollout(*id);
      return std::unexpected(added.error());
    }
    std::this_thread::sleep_for(kPauseBetweenSteps);
  }
  LIFEBOAT_TRY(store_.SetRolloutState(*id, record.state, record.message));
  auto stored = store_.FindRollout(*id);
  LIFEBOAT_TRY(stored);
  if (!*stored) return Fail(ErrorCode::kDatabase, "rollout " + std::to_string(*id) + " vanished");
  // The cache takes it as built here (the store has the same), not by reading it back.
  auto open = MakeOpenRollout(**stored, std::move(members));
  LIFEBOAT_TRY(open);
  {
    std::lock_guard lock(state_mutex_);
    if (loaded_) {
      for (const auto& machine : ids) rollout_of_[machine] = *id;
      open_[*id] = std::move(*open);
    }
  }
  return Rollout(*id);
}

Result<RolloutView> Fleet::Rollout(uint64_t id) {
  auto found = store_.FindRollout(id);
  LIFEBOAT_TRY(found);
  if (!*found) return Fail(ErrorCode::kNotFound, "id: no rollout " + std::to_string(id));
  std::lock_guard lock(state_mutex_);
  // An open rollout's view comes from the cache, which is never behind the store.
  LIFEBOAT_TRY(LoadOpenRollouts());
  if (auto it = open_.find(id); it != open_.end()) {
    LIFEBOAT_TRY(Settle(it->second));
    if (auto still = open_.find(id); still != open_.end())
      return RolloutView{still->second.record, *still->second.evaluation};
  }
  auto stored = ReadStoredRollout(**found);
  LIFEBOAT_TRY(stored);
  return stored->view;
}

Result<Fleet::RolloutMachinesPage> Fleet::RolloutMachines(uint64_t id, uint32_t from_position,
                                                          uint32_t limit) {
  auto view = Rollout(id);
  LIFEBOAT_TRY(view);
  RolloutMachinesPage page;
  {
    std::lock_guard lock(state_mutex_);
    if (auto open = open_.find(id); open != open_.end()) LIFEBOAT_TRY(Settle(open->second));
    if (auto open = open_.find(id); open != open_.end()) {
      page.view = {open->second.record, *open->second.evaluation};
      page.waves = open->second.tally;
    } else {
      auto stored = ReadStoredRollout(view->rollout);
      LIFEBOAT_TRY(stored);
      page.view = stored->view;
      page.waves = stored->tally;
    }
  }
  auto machines = store_.MembersPage(id, from_position, limit);
  LIFEBOAT_TRY(machines);
  page.machines = std::move(*machines);
  return page;
}

Result<std::vector<RolloutView>> Fleet::Rollouts() {
  auto all = store_.ListRollouts();
  LIFEBOAT_TRY(all);
  std::vector<RolloutView> views;
  for (const auto& r : *all) {
    auto view = Rollout(r.id);
    LIFEBOAT_TRY(view);
    views.push_back(std::move(*view));
  }
  return views;
}

Result<void> Fleet::SetState(uint64_t id, RolloutState state, const std::string& message) {
  std::lock_guard lock(state_mutex_);
  LIFEBOAT_TRY(store_.SetRolloutState(id, state, message));
  // The cached copy follows (heartbeats read it): its record read again, with what else an
  // operator's change wrote (accepted failures), its members kept. Reading them all again would
  // hold every heartbeat up for as long.
  auto it = open_.find(id);
  if (!loaded_ || it == open_.end()) {
    if (!Finished(state)) loaded_ = false;
    return {};
  }
  if (Finished(state)) {
    Forget(id);
    return {};
  }
  auto record = store_.FindRollout(id);
  LIFEBOAT_TRY(record);
  if (!*record) return Fail(ErrorCode::kNotFound, "id: no rollout " + std::to_string(id));
  it->second.record = **record;
  it->second.evaluation.reset();
  return {};
}

}  // namespace lifeboat::controller
