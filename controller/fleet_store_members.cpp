// FleetStore's rollout members: added in batches while a rollout is created, read whole or a page
// at a time, marked skipped; and the rollouts a crash left half-created. (Rollouts themselves are
// in fleet_store_rollouts.cpp, on the same session.)
#include <Poco/Exception.h>

#include "controller/fleet_store.h"
#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

namespace {

// Members by position from `from`, at most `limit` (0: all), each with its machine's last_seen.
std::vector<MemberRecord> SelectMembers(Poco::Data::Session& s, uint64_t rollout_id, uint32_t from,
                                        uint32_t limit) {
  std::vector<std::string> machine, state, finished, previous, seen;
  std::vector<Int64> position, attempts, last;
  std::vector<int> skipped;
  Int64 id = static_cast<Int64>(rollout_id), first = from,
        count = limit ? Int64{limit} : Int64{-1};  // SQLite: a negative LIMIT is none
  s << "SELECT x.machine_id, x.position, x.state, x.attempts, x.finished_at, "
       "x.previous_version, x.last_attempt_id, x.skipped, m.last_seen "
       "FROM rollout_members x JOIN machines m ON m.id = x.machine_id "
       "WHERE x.rollout_id = ? AND x.position >= ? ORDER BY x.position LIMIT ?",
      into(machine), into(position), into(state), into(attempts), into(finished), into(previous),
      into(last), into(skipped), into(seen), use(id), use(first), use(count), now;
  std::vector<MemberRecord> out;
  out.reserve(machine.size());
  for (size_t k = 0; k < machine.size(); ++k) {
    MemberRecord m;
    m.member = {machine[k],
                static_cast<uint32_t>(position[k]),
                ParseMemberState(state[k]).value_or(MemberState::kPending),
                static_cast<uint32_t>(attempts[k]),
                ParseTime(finished[k]),
                skipped[k] != 0,
                ParseTime(seen[k])};
    m.previous_version = previous[k];
    m.last_attempt_id = static_cast<uint64_t>(last[k]);
    out.push_back(std::move(m));
  }
  return out;
}

// Deletes rollouts and everything that refers to them; `which` selects their ids.
void DeleteRollouts(Poco::Data::Session& s, const std::string& which, Int64 id) {
  for (const char* table : {"rollout_members", "rollout_labels"}) {
    Poco::Data::Statement st(s);
    st << "DELETE FROM " << table << " WHERE rollout_id IN (" << which << ")";
    if (id) st, use(id);
    st.execute();
  }
  Poco::Data::Statement st(s);
  st << "DELETE FROM rollouts WHERE id IN (" << which << ")";
  if (id) st, use(id);
  st.execute();
}

}  // namespace

Result<void> FleetStore::AddMembers(uint64_t rollout_id, const std::vector<std::string>& ids,
                                    uint32_t first_position) {
  if (ids.empty()) return {};
  std::lock_guard lock(s_->mutex);
  return Guard("add rollout members", [&] {
    // One prepared statement run for every row (Poco binds the vectors row by row).
    std::vector<Int64> rollout(ids.size(), static_cast<Int64>(rollout_id)), position(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) position[i] = Int64{first_position} + Int64(i);
    std::vector<std::string> machines = ids;
    s_->session->begin();
    try {
      *s_->session << "INSERT INTO rollout_members(rollout_id, machine_id, position, state, "
                      "attempts, finished_at, previous_version, last_attempt_id) "
                      "VALUES (?, ?, ?, 'pending', 0, '', '', 0)",
          use(rollout), use(machines), use(position), now;
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<void> FleetStore::DiscardRollout(uint64_t rollout_id) {
  std::lock_guard lock(s_->mutex);
  return Guard("discard a rollout being created", [&] {
    s_->session->begin();
    try {
      DeleteRollouts(
          *s_->session,
          "SELECT id FROM rollouts WHERE id = ? AND state = '" + std::string(kCreatingState) + "'",
          static_cast<Int64>(rollout_id));
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<uint64_t> FleetStore::DiscardHalfCreatedRollouts() {
  std::lock_guard lock(s_->mutex);
  return Guard("discard half-created rollouts", [&] {
    const std::string which =
        "SELECT id FROM rollouts WHERE state = '" + std::string(kCreatingState) + "'";
    int count = 0;
    *s_->session << "SELECT COUNT(*) FROM (" + which + ")", into(count), now;
    if (count == 0) return uint64_t{0};
    s_->session->begin();
    try {
      DeleteRollouts(*s_->session, which, 0);
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
    return static_cast<uint64_t>(count);
  });
}

Result<void> FleetStore::SkipMembers(uint64_t rollout_id, const std::vector<std::string>& ids) {
  std::lock_guard lock(s_->mutex);
  return Guard("skip rollout members", [&] {
    Int64 rollout = static_cast<Int64>(rollout_id);
    s_->session->begin();
    try {
      for (const auto& machine_id : ids) {
        std::string m = machine_id;
        *s_->session << "UPDATE rollout_members SET skipped = 1 WHERE rollout_id = ? AND "
                        "machine_id = ?",
            use(rollout), use(m), now;
      }
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<std::vector<MemberRecord>> FleetStore::Members(uint64_t rollout_id) {
  std::lock_guard lock(s_->mutex);
  return Guard("read rollout members",
               [&] { return SelectMembers(*s_->session, rollout_id, 0, 0); });
}

Result<std::vector<MemberRecord>> FleetStore::MembersPage(uint64_t rollout_id,
                                                          uint32_t from_position, uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("read rollout members",
               [&] { return SelectMembers(*s_->session, rollout_id, from_position, limit); });
}

Result<std::vector<std::pair<std::string, std::string>>> FleetStore::MachineIdsPage(
    const std::map<std::string, std::string>& labels, const std::string& after_id, uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("list machine ids", [&] {
    std::vector<std::string> id, seen;
    // Bound values stay where Poco can reach them until the statement runs.
    std::vector<std::string> values;
    values.reserve(labels.size() * 2 + 1);
    std::string sql = "SELECT id, last_seen FROM machines WHERE id > ?";
    values.push_back(after_id);
    for (const auto& [key, value] : labels) {
      sql +=
          " AND EXISTS (SELECT 1 FROM machine_labels l WHERE l.machine_id = machines.id AND "
          "l.key = ? AND l.value = ?)";
      values.push_back(key);
      values.push_back(value);
    }
    Int64 count = limit;
    Poco::Data::Statement st(*s_->session);
    st << sql + " ORDER BY id LIMIT ?", into(id), into(seen);
    for (auto& v : values) st, use(v);
    st, use(count);
    st.execute();
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(id.size());
    for (size_t k = 0; k < id.size(); ++k) out.emplace_back(std::move(id[k]), std::move(seen[k]));
    return out;
  });
}

Result<std::optional<uint64_t>> FleetStore::OpenRolloutOf(const std::string& machine_id) {
  std::lock_guard lock(s_->mutex);
  return Guard("find a machine's rollout", [&] {
    std::vector<Int64> ids;
    std::string m = machine_id;
    *s_->session << "SELECT r.id FROM rollouts r JOIN rollout_members x ON x.rollout_id = r.id "
                    "WHERE x.machine_id = ? AND r.state IN ('active', 'paused', 'halted') "
                    "ORDER BY r.id DESC LIMIT 1",
        into(ids), use(m), now;
    return ids.empty() ? std::optional<uint64_t>{}
                       : std::optional<uint64_t>{static_cast<uint64_t>(ids[0])};
  });
}

}  // namespace lifeboat::controller
