#include "controller/fleet.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "common/version.h"
#include "image/wim_file.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

Fleet::Fleet(FleetStore& store, std::string data_dir, std::function<TimePoint()> clock,
             std::chrono::seconds offline_after)
    : store_(store),
      catalog_(store, std::move(data_dir)),
      batcher_(store),
      clock_(std::move(clock)),
      offline_after_(offline_after) {
  // A rollout still being created when the controller stopped was never seen by anyone: it goes.
  (void)store_.DiscardHalfCreatedRollouts();
  if (auto ids = store_.MachineIds()) known_.insert(ids->begin(), ids->end());
  if (auto machines = store_.ListMachines({})) {
    for (const auto& m : *machines)
      if (m.boot_recovery_pending) boot_recovery_.insert(m.id);
  }
}

Fleet::~Fleet() = default;

Result<void> Fleet::Flush() { return batcher_.Flush(); }

// ---- agents ----

Result<void> Fleet::Register(const MachineRecord& machine) {
  if (machine.id.empty()) return BadInput("machine_id", "machine_id is empty");
  if (machine.hostname.empty()) return BadInput("hostname", "hostname is empty");
  for (const auto& [key, value] : machine.labels) {
    if (key.empty()) return BadInput("labels", "labels: a label has an empty key");
  }
  if (auto r = store_.RegisterMachine(machine); !r) return r;
  std::lock_guard lock(machines_mutex_);
  known_.insert(machine.id);
  return {};
}

Result<Fleet::OpenRollout> Fleet::MakeOpenRollout(const RolloutRecord& record,
                                                  std::vector<MemberRecord> members) {
  OpenRollout open;
  open.record = record;
  if (record.spec.job.kind == JobKind::kInstall) {
    auto image = catalog_.Image(record.spec.image_version);
    LIFEBOAT_TRY(image);
    open.image = *image;
  }
  open.members = std::move(members);
  open.tally.assign(record.wave_ends.size(), WaveTally{});
  open.index.reserve(open.members.size());
  for (size_t i = 0; i < open.members.size(); ++i) {
    open.index[open.members[i].member.machine_id] = i;
    Count(open.tally, record.spec, record.wave_ends, open.members[i].member, +1);
  }
  return open;
}

Result<void> Fleet::LoadOpenRollouts() {
  if (loaded_) return {};
  open_.clear();
  rollout_of_.clear();
  auto all = store_.ListRollouts();
  LIFEBOAT_TRY(all);
  for (const auto& r : *all) {
    if (Finished(r.state)) continue;
    auto members = store_.Members(r.id);
    LIFEBOAT_TRY(members);
    auto open = MakeOpenRollout(r, std::move(*members));
    LIFEBOAT_TRY(open);
    for (const auto& m : open->members) rollout_of_[m.member.machine_id] = r.id;
    open_[r.id] = std::move(*open);
  }
  loaded_ = true;
  return {};
}

void Fleet::ChangeMember(OpenRollout& r, MemberRecord& me,
                         const std::function<void(Member&)>& change) {
  Count(r.tally, r.record.spec, r.record.wave_ends, me.member, -1);
  change(me.member);
  Count(r.tally, r.record.spec, r.record.wave_ends, me.member, +1);
}

Result<void> Fleet::EvaluateOpen(OpenRollout& r, bool visit_deadline) {
  const EvaluationContext context{clock_(), ParseTime(r.record.created_at), offline_after_,
                                  r.record.accepted_failures};
  MemberVisitor visit;
  if (visit_deadline) {
    visit = [&r](uint32_t begin, uint32_t end, const std::function<void(const Member&)>& f) {
      auto first =
          std::lower_bound(r.members.begin(), r.members.end(), begin,
                           [](const MemberRecord& m, uint32_t p) { return m.member.position < p; });
      for (auto it = first; it != r.members.end() && it->member.position < end; ++it) f(it->member);
    };
  }
  Evaluation e = Evaluate(r.record.spec, r.record.wave_ends, r.tally, visit, context);
  // Skipping only happens while the rollout runs; a paused one leaves its machines as they are.
  if (!e.to_skip.empty() && r.record.state == RolloutState::kActive) {
    LIFEBOAT_TRY(store_.SkipMembers(r.record.id, e.to_skip));
    for (const auto& id : e.to_skip)
      ChangeMember(r, r.members[r.index.at(id)], [](Member& m) { m.skipped = true; });
    e = Evaluate(r.record.spec, r.record.wave_ends, r.tally, visit, context);
  }
  r.evaluation = std::move(e);
  return {};
}

void Fleet::Forget(uint64_t rollout_id) {
  auto it = open_.find(rollout_id);
  if (it == open_.end()) return;
  for (const auto& m : it->second.members) {
    auto owner = rollout_of_.find(m.member.machine_id);
    if (owner != rollout_of_.end() && owner->second == rollout_id) rollout_of_.erase(owner);
  }
  open_.erase(it);
}

Result<Evaluation> Fleet::EvaluateAndSkip(const RolloutRecord& rollout,
                                          std::vector<MemberRecord>& members) {
  std::vector<Member> plain;
  plain.reserve(members.size());
  for (const auto& m : members) plain.push_back(m.member);
  const EvaluationContext context{clock_(), ParseTime(rollout.created_at), offline_after_,
                                  rollout.accepted_failures};
  Evaluation e = Evaluate(rollout.spec, rollout.wave_ends, plain, context);
  // Skipping only happens while the rollout runs; a paused one leaves its machines as they are.
  if (e.to_skip.empty() || rollout.state != RolloutState::kActive) return e;
  LIFEBOAT_TRY(store_.SkipMembers(rollout.id, e.to_skip));
  const std::unordered_set<std::string> skip(e.to_skip.begin(), e.to_skip.end());
  for (size_t i = 0; i < members.size(); ++i) {
    if (!skip.contains(members[i].member.machine_id)) continue;
    members[i].member.skipped = true;
    plain[i].skipped = true;
  }
  return Evaluate(rollout.spec, rollout.wave_ends, plain, context);
}

Result<bool> Fleet::RecordOutcome(RolloutRecord& rollout, const Evaluation& e) {
  if (rollout.state != RolloutState::kActive || !(e.halt || e.completed)) return false;
  RolloutState next = RolloutState::kHalted;
  std::string message = e.halt_reason;
  if (!e.halt) {
    // A rollout where machines failed for good never reads as plain success.
    next = e.failed > 0 ? RolloutState::kCompletedWithFailures : RolloutState::kCompleted;
    message = std::to_string(e.succeeded) + " succeeded, " + std::to_string(e.failed) +
              " failed, " + std::to_string(e.skipped) + " skipped (offline past the deadline)";
    if (!rollout.message.empty() && rollout.message != message)
      message = rollout.message + "; " + message;
  }
  LIFEBOAT_TRY(store_.SetRolloutState(rollout.id, next, message));
  rollout.state = next;
  rollout.message = message;
  Tell({next == RolloutState::kHalted      ? "rollout.halted"
        : next == RolloutState::kCompleted ? "rollout.completed"
                                           : "rollout.completed_with_failures",
        rollout.id, "", message});
  return next != RolloutState::kHalted;
}

Result<void> Fleet::Settle(OpenRollout& r, bool changed) {
  // Time alone changes an evaluation too (a wait between waves ends, an offline machine passes
  // its deadline): it is made in full at most a second apart, and from the tally in between.
  const TimePoint now = clock_();
  if (!r.evaluation || now - r.evaluated_at >= std::chrono::seconds(1)) {
    LIFEBOAT_TRY(EvaluateOpen(r, true));
    r.evaluated_at = now;
  } else if (changed) {
    LIFEBOAT_TRY(EvaluateOpen(r, false));
  }
  auto finished = RecordOutcome(r.record, *r.evaluation);
  LIFEBOAT_TRY(finished);
  if (*finished) {
    // Its view is kept as it is now: reading a large rollout back from the store for the next
    // view would hold every heartbeat up for as long.
    finished_[r.record.id] = {{r.record, *r.evaluation}, r.tally};
    Forget(r.record.id);
  }
  return {};
}

bool Fleet::Offline(const std::string& last_seen) const {
  return IsOffline(ParseTime(last_seen), clock_(), offline_after_);
}

Result<std::optional<Assignment>> Fleet::Heartbeat(const std::string& machine_id,
                                                   const std::string& inventory,
                                                   const std::string& installed_version,
                                                   AgentState state,
                                                   const std::string& current_step) {
  if (machine_id.empty()) return BadInput("machine_id", "machine_id is empty");
  {
    std::lock_guard lock(machines_mutex_);
    if (!known_.contains(machine_id)) {
      return Fail(ErrorCode::kNotFound,
                  "machine " + machine_id + " is not registered; call Register first");
    }
  }
  // Answered once queued: the next heartbeat says it again (controller/heartbeat_batcher.h).
  FleetStore::Heartbeat h;
  h.id = machine_id;
  h.inventory = inventory;
  h.installed_version = installed_version;
  h.state = state;
  h.current_step = current_step;
  LIFEBOAT_TRY(batcher_.Record(h));
  // Decided under the cache's lock, so caps hold; the store's writes and reads (an fsync, or a
  // wait behind one) are made outside it, where they hold up only this machine.
  Decision decision;
  {
    std::lock_guard lock(state_mutex_);
    auto decided = Decide(machine_id);
    LIFEBOAT_TRY(decided);
    decision = std::move(*decided);
  }
  Assignment& out = decision.assignment;
  switch (decision.kind) {
    case Decision::kNothing:
      return std::optional<Assignment>{};
    case Decision::kAgain: {
      // Work already given and not reported finished is given again: a heartbeat is idempotent.
      auto attempt = store_.FindAttempt(out.attempt_id);
      LIFEBOAT_TRY(attempt);
      if (*attempt)
        for (const auto& e : (*attempt)->events)
          out.reported_sequence = std::max(out.reported_sequence, e.sequence);
      return std::optional<Assignment>{out};
    }
    case Decision::kNew:
      break;
  }
  auto attempt = store_.StartAttempt(out.rollout_id, machine_id, out.job.kind, out.image.version,
                                     installed_version);
  std::lock_guard lock(state_mutex_);
  FinishAssigning(out.rollout_id, machine_id, decision.state_before,
                  attempt ? attempt->id : uint64_t{0}, installed_version);
  LIFEBOAT_TRY(attempt);
  out.attempt_id = attempt->id;
  return std::optional<Assignment>{out};
}

MemberRecord* Fleet::CachedMember(uint64_t rollout_id, const std::string& machine_id) {
  auto r = open_.find(rollout_id);
  if (r == open_.end()) return nullptr;
  auto at = r->second.index.find(machine_id);
  return at == r->second.index.end() ? nullptr : &r->second.members[at->second];
}

Result<Fleet::Decision> Fleet::Decide(const std::string& machine_id) {
  LIFEBOAT_TRY(LoadOpenRollouts());
  Decision d;
  auto owner = rollout_of_.find(machine_id);
  if (owner == rollout_of_.end()) return d;
  OpenRollout& r = open_.at(owner->second);
  MemberRecord& me = r.members[r.index.at(machine_id)];
  me.member.last_seen = clock_();  // it is online: the store has it too, since the flush
  d.assignment = Assignment{me.last_attempt_id, r.record.id, r.record.spec.job, r.image};
  if (me.member.state == MemberState::kAssigned || me.member.state == MemberState::kRunning) {
    // Being assigned by another call of this machine's still: its answer carries the work.
    if (me.last_attempt_id != kAssigning) d.kind = Decision::kAgain;
    return d;
  }
  const uint64_t rollout_id = r.record.id;
  LIFEBOAT_TRY(Settle(r));
  if (!open_.contains(rollout_id)) return d;  // it just completed
  if (!ShouldAssign(r.record.spec, r.record.state, r.record.wave_ends, *r.evaluation, me.member))
    return d;
  // Counted as assigned from now, so the next decision sees the cap; FinishAssigning makes it
  // final or takes it back once the store has answered.
  d.kind = Decision::kNew;
  d.state_before = me.member.state;
  me.last_attempt_id = kAssigning;
  ChangeMember(r, me, [](Member& m) {
    ++m.attempts;
    m.state = MemberState::kAssigned;
  });
  ReevaluateAfterChange(r);
  return d;
}

void Fleet::FinishAssigning(uint64_t rollout_id, const std::string& machine_id,
                            MemberState state_before, uint64_t attempt_id,
                            const std::string& installed_version) {
  MemberRecord* me = CachedMember(rollout_id, machine_id);
  // Not cached any more: the rollout finished (an abort) and the store has the last word.
  if (me == nullptr) return;
  OpenRollout& r = open_.at(rollout_id);
  const bool tentative = me->last_attempt_id == kAssigning;
  if (attempt_id == 0) {  // the store refused it: the member is as it was
    if (tentative) {
      me->last_attempt_id = 0;
      ChangeMember(r, *me, [&](Member& m) {
        --m.attempts;
        m.state = state_before;
      });
    }
  } else if (tentative) {
    if (me->member.attempts == 1) me->previous_version = installed_version;
    me->last_attempt_id = attempt_id;
  } else if (me->last_attempt_id < attempt_id) {
    // The cache was read again from the store before the attempt was stored: it follows now.
    if (me->member.attempts == 0) me->previous_version = installed_version;
    me->last_attempt_id = attempt_id;
    ChangeMember(r, *me, [](Member& m) {
      ++m.attempts;
      m.state = MemberState::kAssigned;
    });
  }
  ReevaluateAfterChange(r);
}

void Fleet::ReevaluateAfterChange(OpenRollout& r) {
  // One that fails is made again, in full, by the next Settle: the change itself stands.
  if (!EvaluateOpen(r, false)) r.evaluation.reset();
}

bool Fleet::MemberHasWork(const OpenRollout& r, const MemberRecord& me) {
  return me.member.state == MemberState::kAssigned || me.member.state == MemberState::kRunning ||
         ShouldAssign(r.record.spec, r.record.state, r.record.wave_ends, *r.evaluation, me.member);
}

Result<bool> Fleet::HasWork(const std::string& machine_id) {
  std::lock_guard lock(state_mutex_);
  LIFEBOAT_TRY(LoadOpenRollouts());
  auto owner = rollout_of_.find(machine_id);
  if (owner == rollout_of_.end()) return false;
  const uint64_t rollout_id = owner->second;
  LIFEBOAT_TRY(Settle(open_.at(rollout_id)));
  auto it = open_.find(rollout_id);
  if (it == open_.end()) return false;  // it just completed
  return MemberHasWork(it->second, it->second.members[it->second.index.at(machine_id)]);
}

Result<std::unordered_set<std::string>> Fleet::MachinesWithWork() {
  std::lock_guard lock(state_mutex_);
  LIFEBOAT_TRY(LoadOpenRollouts());
  std::vector<uint64_t> ids;
  for (const auto& [id, r] : open_) ids.push_back(id);
  std::unordered_set<std::string> out;
  for (uint64_t id : ids) {
    LIFEBOAT_TRY(Settle(open_.at(id)));
    auto it = open_.find(id);
    if (it == open_.end()) continue;  // it just completed
    for (const auto& me : it->second.members)
      if (MemberHasWork(it->second, me)) out.insert(me.member.machine_id);
  }
  return out;
}

Result<uint64_t> Fleet::Report(const std::string& machine_id, uint64_t attempt_id,
                               const std::vector<StepEvent>& events) {
  for (const auto& e : events) {
    if (e.sequence == 0) return BadInput("events", "events: sequence numbers start at 1");
  }
  auto attempt = store_.FindAttempt(attempt_id);
  LIFEBOAT_TRY(attempt);
  if (!*attempt || (*attempt)->machine_id != machine_id) {
    return Fail(ErrorCode::kNotFound, "attempt_id: no attempt " + std::to_string(attempt_id) +
                                          " for machine " + machine_id);
  }
  // Finishing the attempt sets the version the machine runs; a heartbeat queued before says less.
  for (const auto& e : events)
    if (e.step == "done" && e.status == StepStatus::kSucceeded)
      batcher_.DropQueuedVersion(machine_id);
  auto result = store_.AddEvents(attempt_id, events);
  LIFEBOAT_TRY(result);
  // Told once: when this report is the one that failed the attempt (not a repeat of it).
  if (result->attempt_state == MemberState::kFailed && (*attempt)->state != MemberState::kFailed) {
    std::string error;
    for (const auto& e : events)
      if (e.status == StepStatus::kFailed) error = e.step + ": " + e.message;
    Tell({"machine.failed", result->rollout_id, machine_id, error});
  }
  std::lock_guard lock(state_mutex_);
  if (!loaded_) return result->highest_sequence;  // the cache will be read from the store
  auto it = open_.find(result->rollout_id);
  if (it == open_.end()) return result->highest_sequence;
  OpenRollout& r = it->second;
  auto at = r.index.find(machine_id);
  if (at == r.index.end()) return result->highest_sequence;
  MemberRecord& me = r.members[at->second];
  me.member.last_seen = clock_();  // reporting is a contact too
  if (me.last_attempt_id != attempt_id) return result->highest_sequence;  // an old attempt
  const MemberState state = result->attempt_state;
  if (state != me.member.state) {
    const TimePoint finished = clock_();
    ChangeMember(r, me, [&](Member& m) {
      m.state = state;
      if (state == MemberState::kSucceeded || state == MemberState::kFailed)
        m.finished_at = finished;
    });
    LIFEBOAT_TRY(Settle(r, true));  // a finished machine may close a wave
  }
  return result->highest_sequence;
}

Result<std::vector<MachineRecord>> Fleet::Machines(
    const std::map<std::string, std::string>& labels) {
  LIFEBOAT_TRY(Flush());
  auto machines = store_.ListMachines(labels);
  if (!machines) return machines;
  for (auto& m : *machines) m.offline = Offline(m.last_seen);
  return machines;
}

Result<MachineView> Fleet::Machine(const std::string& id) {
  LIFEBOAT_TRY(Flush());
  auto machine = store_.FindMachine(id);
  LIFEBOAT_TRY(machine);
  if (!*machine) return Fail(ErrorCode::kNotFound, "id: no machine " + id);
  auto attempts = store_.Attempts(id);
  LIFEBOAT_TRY(attempts);
  MachineView view{**machine, *attempts};
  view.machine.offline = Offline(view.machine.last_seen);
  return view;
}

Result<void> Fleet::StoreHealth() {
  LIFEBOAT_TRY(Summary());
  std::lock_guard lock(health_mutex_);
  const TimePoint now = Clock::now();
  if (!health_checked_at_ || now - *health_checked_at_ >= std::chrono::seconds(5)) {
    health_ = store_.CheckIntegrity();
    health_checked_at_ = now;
  }
  return health_;
}

Result<FleetSummary> Fleet::Summary() {
  LIFEBOAT_TRY(Flush());
  return store_.Summary(FormatTime(clock_() - offline_after_));
}

}  // namespace lifeboat::controller
