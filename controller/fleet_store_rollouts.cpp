// FleetStore's rollouts, their members and attempts, and the fleet summary (the images and
// machines are in fleet_store.cpp; both on the session of controller/store_session.h).
#include <Poco/Exception.h>

#include <algorithm>
#include <sstream>
#include <tuple>

#include "controller/fleet_store.h"
#include "controller/group_commit.h"
#include "controller/prepared_statements.h"
#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

namespace {

// Waves as text: "p:1,10,50,100" (percents) or "c:1,5" (counts); "" for one wave.
std::string WavesText(const std::vector<WaveSpec>& waves) {
  if (waves.empty()) return "";
  std::string s = waves[0].percent ? "p:" : "c:";
  for (size_t i = 0; i < waves.size(); ++i) s += (i ? "," : "") + std::to_string(waves[i].value);
  return s;
}
std::vector<WaveSpec> ParseWaves(const std::string& text) {
  std::vector<WaveSpec> waves;
  if (text.size() < 2) return waves;
  bool percent = text[0] == 'p';
  std::stringstream ss(text.substr(2));
  std::string item;
  while (std::getline(ss, item, ','))
    waves.push_back({percent, static_cast<uint32_t>(std::stoul(item))});
  return waves;
}
std::string JoinNumbers(const std::vector<uint32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
std::vector<uint32_t> SplitNumbers(const std::string& text) {
  std::vector<uint32_t> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(static_cast<uint32_t>(std::stoul(item)));
  return v;
}
std::string JoinLines(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "\n" : "") + v[i];
  return s;
}
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item)) v.push_back(item);
  return v;
}

}  // namespace

// ---- rollouts ----

Result<uint64_t> FleetStore::BeginRollout(const RolloutRecord& r) {
  std::lock_guard lock(s_->mutex);
  return Guard("create a rollout", [&] {
    std::string image = r.spec.image_version, machines = JoinLines(r.spec.selector.machine_ids),
                waves = WavesText(r.spec.waves), ends = JoinNumbers(r.wave_ends),
                state = kCreatingState, message = r.message, job = JobKindName(r.spec.job.kind),
                reclaim = r.spec.job.reclaim;
    int all = r.spec.selector.all, unsigned_ok = r.spec.allow_unsigned;
    Int64 wait = r.spec.wait_between_waves.count(), cap = r.spec.max_in_progress,
          threshold = r.spec.failure_threshold_percent, retries = r.spec.max_retries,
          rollback = static_cast<Int64>(r.rollback_of), deadline = r.spec.machine_deadline.count(),
          winre_free = static_cast<Int64>(r.spec.job.winre_free_bytes),
          winre_size = static_cast<Int64>(r.spec.job.winre_size_bytes);
    s_->session->begin();
    try {
      // A job without an image stores NULL: the column refers to images.
      *s_->session << (std::string("INSERT INTO rollouts(image_version, selector_all, "
                                   "selector_machines, waves, wait_seconds, max_in_progress, "
                                   "failure_threshold, max_retries, wave_ends, state, message, "
                                   "created_at, rollback_of, machine_deadline, allow_unsigned, "
                                   "job, winre_free_bytes, winre_size_bytes, reclaim) "
                                   "VALUES (NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ") +
                       s_->dialect.now + ", ?, ?, ?, ?, ?, ?, ?)"),
          use(image), use(all), use(machines), use(waves), use(wait), use(cap), use(threshold),
          use(retries), use(ends), use(state), use(message), use(rollback), use(deadline),
          use(unsigned_ok), use(job), use(winre_free), use(winre_size), use(reclaim), now;
      Int64 id = 0;
      *s_->session << s_->dialect.last_id, into(id), now;
      for (const auto& [key, value] : r.spec.selector.labels) {
        std::string k = key, v = value;
        *s_->session << "INSERT INTO rollout_labels(rollout_id, key, value) VALUES (?, ?, ?)",
            use(id), use(k), use(v), now;
      }
      s_->session->commit();
      return static_cast<uint64_t>(id);
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<uint64_t> FleetStore::CreateRollout(const RolloutRecord& r,
                                           const std::vector<std::string>& machine_ids) {
  auto id = BeginRollout(r);
  LIFEBOAT_TRY(id);
  for (size_t first = 0; first < machine_ids.size(); first += kMembersPerTransaction) {
    const size_t n = std::min(kMembersPerTransaction, machine_ids.size() - first);
    if (auto added = AddMembers(*id,
                                {machine_ids.begin() + static_cast<std::ptrdiff_t>(first),
                                 machine_ids.begin() + static_cast<std::ptrdiff_t>(first + n)},
                                static_cast<uint32_t>(first));
        !added) {
      (void)DiscardRollout(*id);
      return std::unexpected(added.error());
    }
  }
  LIFEBOAT_TRY(SetRolloutState(*id, r.state, r.message));
  return *id;
}

namespace {

std::vector<RolloutRecord> SelectRollouts(Poco::Data::Session& s, Int64 id_filter) {
  std::vector<Int64> id, wait, cap, threshold, retries, rollback, deadline, accepted, winre_free,
      winre_size;
  std::vector<std::string> image, machines, waves, ends, state, message, created, job, reclaim;
  std::vector<int> all, unsigned_ok;
  Poco::Data::Statement st(s);
  st << (std::string("SELECT id, COALESCE(image_version, ''), selector_all, selector_machines, "
                     "waves, wait_seconds, max_in_progress, failure_threshold, max_retries, "
                     "wave_ends, state, message, created_at, rollback_of, machine_deadline, "
                     "allow_unsigned, accepted_failures, job, winre_free_bytes, "
                     "winre_size_bytes, reclaim FROM rollouts") +
         " WHERE state <> '" + kCreatingState + "'" + (id_filter ? " AND id = ?" : "") +
         " ORDER BY id"),
      into(id), into(image), into(all), into(machines), into(waves), into(wait), into(cap),
      into(threshold), into(retries), into(ends), into(state), into(message), into(created),
      into(rollback), into(deadline), into(unsigned_ok), into(accepted), into(job),
      into(winre_free), into(winre_size), into(reclaim);
  if (id_filter) st, use(id_filter);
  st.execute();
  std::vector<Int64> label_rollout;
  std::vector<std::string> keys, values;
  s << "SELECT rollout_id, key, value FROM rollout_labels", into(label_rollout), into(keys),
      into(values), now;
  std::vector<RolloutRecord> out;
  for (size_t k = 0; k < id.size(); ++k) {
    RolloutRecord r;
    r.id = static_cast<uint64_t>(id[k]);
    r.spec.image_version = image[k];
    r.spec.selector.all = all[k] != 0;
    r.spec.selector.machine_ids = SplitLines(machines[k]);
    for (size_t l = 0; l < label_rollout.size(); ++l)
      if (label_rollout[l] == id[k]) r.spec.selector.labels[keys[l]] = values[l];
    r.spec.waves = ParseWaves(waves[k]);
    r.spec.wait_between_waves = std::chrono::seconds(wait[k]);
    r.spec.max_in_progress = static_cast<uint32_t>(cap[k]);
    r.spec.failure_threshold_percent = static_cast<uint32_t>(threshold[k]);
    r.spec.max_retries = static_cast<uint32_t>(retries[k]);
    r.wave_ends = SplitNumbers(ends[k]);
    r.state = ParseRolloutState(state[k]).value_or(RolloutState::kAborted);
    r.message = message[k];
    r.created_at = created[k];
    r.rollback_of = static_cast<uint64_t>(rollback[k]);
    r.spec.machine_deadline = std::chrono::seconds(deadline[k]);
    r.spec.allow_unsigned = unsigned_ok[k] != 0;
    r.accepted_failures = static_cast<uint32_t>(accepted[k]);
    const auto kind = ParseJobKind(job[k]);
    if (!kind)
      throw Poco::DataFormatException("rollout " + std::to_string(id[k]) + " has the job '" +
                                      job[k] + "'");
    r.spec.job = {*kind, static_cast<uint64_t>(winre_free[k]), static_cast<uint64_t>(winre_size[k]),
                  reclaim[k]};
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<std::optional<RolloutRecord>> FleetStore::FindRollout(uint64_t id) {
  std::lock_guard lock(s_->mutex);
  if (id == 0) return std::optional<RolloutRecord>{};
  return Guard("find a rollout", [&] {
    auto rows = SelectRollouts(*s_->session, static_cast<Int64>(id));
    return rows.empty() ? std::optional<RolloutRecord>{} : std::optional<RolloutRecord>{rows[0]};
  });
}

Result<std::vector<RolloutRecord>> FleetStore::ListRollouts() {
  std::lock_guard lock(s_->mutex);
  return Guard("list rollouts", [&] { return SelectRollouts(*s_->session, 0); });
}

Result<void> FleetStore::SetRolloutState(uint64_t id, RolloutState state,
                                         const std::string& message) {
  std::lock_guard lock(s_->mutex);
  return Guard("change a rollout", [&] {
    Int64 i = static_cast<Int64>(id);
    std::string s = RolloutStateName(state), m = message;
    *s_->session << "UPDATE rollouts SET state = ?, message = ? WHERE id = ?", use(s), use(m),
        use(i), now;
  });
}

Result<void> FleetStore::AcceptFailures(uint64_t id, uint32_t failures) {
  std::lock_guard lock(s_->mutex);
  return Guard("change a rollout", [&] {
    Int64 i = static_cast<Int64>(id), n = failures;
    *s_->session << "UPDATE rollouts SET accepted_failures = ? WHERE id = ?", use(n), use(i), now;
  });
}

// ---- attempts ----

Result<AttemptRecord> FleetStore::StartAttempt(uint64_t rollout_id, const std::string& machine_id,
                                               JobKind job, const std::string& image_version,
                                               const std::string& previous_version) {
  AttemptRecord a;
  a.rollout_id = rollout_id;
  a.machine_id = machine_id;
  a.image_version = image_version;
  a.job = job;
  a.state = MemberState::kAssigned;
  // In one transaction with the other assignments and reports of the moment (group_commit.h).
  LIFEBOAT_TRY(group_->Run("start an attempt", [&] {
    using P = PreparedStatements;
    const int64_t rollout = static_cast<int64_t>(rollout_id);
    const auto inserted = s_->prepared.Run(
        std::string("INSERT INTO attempts(rollout_id, machine_id, image_version, state, "
                    "started_at, finished_at, error, max_sequence, job) VALUES (?, ?, ?, "
                    "'assigned', ") +
            s_->dialect.now + ", '', '', 0, ?) RETURNING id, started_at",
        {rollout, machine_id, image_version, std::string(JobKindName(job))});
    const int64_t id = P::Int(inserted.at(0).at(0));
    a.started_at = P::Text(inserted.at(0).at(1));
    // The previous version is the one before this rollout's first attempt on the machine.
    s_->prepared.Run(
        "UPDATE rollout_members SET state = 'assigned', attempts = attempts + 1, "
        "last_attempt_id = ?, previous_version = CASE WHEN attempts = 0 THEN ? ELSE "
        "previous_version END WHERE rollout_id = ? AND machine_id = ?",
        {id, previous_version, rollout, machine_id});
    a.id = static_cast<uint64_t>(id);
  }));
  return a;
}

namespace {

template <typename Param>
std::vector<AttemptRecord> SelectAttempts(Poco::Data::Session& s, const std::string& where,
                                          const Param& param) {
  std::vector<Int64> id, rollout;
  std::vector<std::string> machine, version, state, started, finished, error, job;
  Param p = param;
  s
      << ("SELECT id, rollout_id, machine_id, image_version, state, started_at, finished_at, "
          "error, "
          "job FROM attempts " +
          where + " ORDER BY id DESC"),
      into(id), into(rollout), into(machine), into(version), into(state), into(started),
      into(finished), into(error), into(job), use(p), now;
  std::vector<AttemptRecord> out;
  for (size_t k = 0; k < id.size(); ++k) {
    // States are words in the file and enums everywhere else: read here, once.
    const auto attempt_state = ParseMemberState(state[k]);
    if (!attempt_state || *attempt_state == MemberState::kPending)
      throw Poco::DataFormatException("attempt " + std::to_string(id[k]) + " has the state '" +
                                      state[k] + "'");
    const auto attempt_job = ParseJobKind(job[k]);
    if (!attempt_job)
      throw Poco::DataFormatException("attempt " + std::to_string(id[k]) + " has the job '" +
                                      job[k] + "'");
    AttemptRecord a{static_cast<uint64_t>(id[k]),
                    static_cast<uint64_t>(rollout[k]),
                    machine[k],
                    version[k],
                    *attempt_job,
                    *attempt_state,
                    started[k],
                    finished[k],
                    error[k],
                    {}};
    std::vector<Int64> seq, done, total;
    std::vector<std::string> step, status, message, at;
    Int64 attempt = id[k];
    s << "SELECT sequence, step, status, bytes_done, bytes_total, message, at FROM step_events "
         "WHERE attempt_id = ? ORDER BY sequence",
        into(seq), into(step), into(status), into(done), into(total), into(message), into(at),
        use(attempt), now;
    for (size_t e = 0; e < seq.size(); ++e) {
      const auto event_status = ParseStepStatus(status[e]);
      if (!event_status)
        throw Poco::DataFormatException("event " + std::to_string(seq[e]) + " of attempt " +
                                        std::to_string(id[k]) + " has the status '" + status[e] +
                                        "'");
      a.events.push_back({static_cast<uint64_t>(seq[e]), step[e], *event_status,
                          static_cast<uint64_t>(done[e]), static_cast<uint64_t>(total[e]),
                          message[e], at[e]});
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<std::optional<AttemptRecord>> FleetStore::FindAttempt(uint64_t id) {
  std::lock_guard lock(s_->mutex);
  return Guard("find an attempt", [&] {
    auto rows = SelectAttempts(*s_->session, "WHERE id = ?", static_cast<Int64>(id));
    return rows.empty() ? std::optional<AttemptRecord>{} : std::optional<AttemptRecord>{rows[0]};
  });
}

Result<FleetStore::EventsResult> FleetStore::AddEvents(uint64_t attempt_id,
                                                       const std::vector<StepEvent>& events) {
  EventsResult result;
  // In one transaction with the other assignments and reports of the moment (group_commit.h).
  LIFEBOAT_TRY(group_->Run("record step events", [&] {
    using P = PreparedStatements;
    PreparedStatements& sql = s_->prepared;
    const int64_t attempt = static_cast<int64_t>(attempt_id);
    const auto found = sql.Run(
        "SELECT max_sequence, rollout_id, machine_id, state FROM attempts WHERE id = ?", {attempt});
    if (found.empty()) throw Poco::NotFoundException("attempt " + std::to_string(attempt_id));
    int64_t highest = P::Int(found[0][0]);
    const int64_t rollout = P::Int(found[0][1]);
    const std::string machine = P::Text(found[0][2]);
    std::string attempt_state = P::Text(found[0][3]);
    // The new events are stored one by one, and their outcome written once, as if each had been
    // applied in turn: the last one's state and error stand, a final one among them finishes the
    // attempt, and a success among them sets the machine's version.
    bool any_new = false, finished = false, succeeded = false;
    std::string error;
    for (const auto& e : events) {
      if (static_cast<int64_t>(e.sequence) <= highest) continue;  // already stored: a retry
      highest = static_cast<int64_t>(e.sequence);
      sql.Run(
          "INSERT INTO step_events(attempt_id, sequence, step, status, bytes_done, bytes_total, "
          "message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          {attempt, highest, e.step, std::string(StepStatusName(e.status)),
           static_cast<int64_t>(e.bytes_done), static_cast<int64_t>(e.bytes_total), e.message,
           e.at});
      any_new = true;
      // The attempt succeeds with its step "done", fails with any failed step, and runs until.
      const MemberState after = e.status == StepStatus::kSucceeded && e.step == "done"
                                    ? MemberState::kSucceeded
                                : e.status == StepStatus::kFailed ? MemberState::kFailed
                                                                  : MemberState::kRunning;
      attempt_state = MemberStateName(after);
      error = e.status == StepStatus::kFailed ? e.message : "";
      finished = finished || after != MemberState::kRunning;
      succeeded = succeeded || after == MemberState::kSucceeded;
    }
    // A machine that reports is online, even while an apply keeps it from heartbeating.
    sql.Run(std::string("UPDATE machines SET last_seen = ") + s_->dialect.now + " WHERE id = ?",
            {machine});
    if (any_new) {
      const std::string finished_at = finished ? s_->dialect.now : "finished_at";
      sql.Run("UPDATE attempts SET state = ?, error = ?, max_sequence = ?, finished_at = " +
                  finished_at + " WHERE id = ?",
              {attempt_state, error, highest, attempt});
      sql.Run("UPDATE rollout_members SET state = ?, finished_at = " + finished_at +
                  " WHERE rollout_id = ? AND machine_id = ? AND last_attempt_id = ?",
              {attempt_state, rollout, machine, attempt});
    }
    if (succeeded) {
      // The machine now runs the attempt's version (none after a remove), before its next
      // heartbeat says so; a WinRE grow leaves it as it was.
      sql.Run(
          "UPDATE machines SET installed_version = (SELECT CASE job WHEN 'remove' THEN '' ELSE "
          "image_version END FROM attempts WHERE id = ?) WHERE id = ? AND (SELECT job FROM "
          "attempts WHERE id = ?) <> 'winre-grow'",
          {attempt, machine, attempt});
    }
    const auto final_attempt_state = ParseMemberState(attempt_state);
    if (!final_attempt_state)
      throw Poco::DataFormatException("attempt " + std::to_string(attempt_id) + " has the state '" +
                                      attempt_state + "'");
    result = {static_cast<uint64_t>(highest), *final_attempt_state, static_cast<uint64_t>(rollout),
              machine};
  }));
  return result;
}

Result<std::vector<AttemptRecord>> FleetStore::Attempts(const std::string& machine_id) {
  std::lock_guard lock(s_->mutex);
  return Guard("read attempts",
               [&] { return SelectAttempts(*s_->session, "WHERE machine_id = ?", machine_id); });
}

Result<FleetSummary> FleetStore::Summary(const std::string& offline_before) {
  std::lock_guard lock(s_->mutex);
  return Guard("summarize the fleet", [&] {
    FleetSummary s;
    if (!offline_before.empty()) {
      int offline = 0;
      std::string cutoff = offline_before;
      // RFC 3339 in one format and zone: text order is time order.
      *s_->session << "SELECT COUNT(*) FROM machines WHERE last_seen < ?", into(offline),
          use(cutoff), now;
      s.offline = static_cast<uint32_t>(offline);
    }
    std::vector<std::string> keys;
    std::vector<Int64> counts;
    *s_->session << "SELECT state, COUNT(*) FROM machines GROUP BY state", into(keys), into(counts),
        now;
    for (size_t k = 0; k < keys.size(); ++k) {
      s.by_state[keys[k]] = static_cast<uint32_t>(counts[k]);
      s.machines += static_cast<uint32_t>(counts[k]);
    }
    keys.clear();
    counts.clear();
    *s_->session << "SELECT installed_version, COUNT(*) FROM machines GROUP BY installed_version",
        into(keys), into(counts), now;
    for (size_t k = 0; k < keys.size(); ++k)
      s.by_version[keys[k]] = static_cast<uint32_t>(counts[k]);
    int active = 0;
    *s_->session << "SELECT COUNT(*) FROM rollouts WHERE state IN ('active', 'paused', 'halted')",
        into(active), now;
    s.active_rollouts = static_cast<uint32_t>(active);
    return s;
  });
}

}  // namespace lifeboat::controller
