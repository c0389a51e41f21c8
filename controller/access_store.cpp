#include "controller/access_store.h"

#include <Poco/Exception.h>

#include <tuple>

#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

AccessStore::AccessStore(std::shared_ptr<StoreSession> session) : s_(std::move(session)) {}
AccessStore::~AccessStore() = default;

// ---- operators ----

Result<void> AccessStore::AddOperator(const OperatorRecord& op) {
  std::lock_guard lock(s_->mutex);
  auto taken =
      AnyRow(*s_, "find an operator", "SELECT COUNT(*) FROM operators WHERE name = ?", op.name);
  LIFEBOAT_TRY(taken);
  if (*taken)
    return Fail(ErrorCode::kAlreadyExists, "name: operator " + op.name + " exists already");
  return Guard("add an operator", [&] {
    std::string name = op.name, role = RoleName(op.role), hash = op.token_sha256;
    *s_->session << (std::string("INSERT INTO operators(name, role, token_sha256, created_at) "
                                 "VALUES (?, ?, ?, ") +
                     s_->dialect.now + ")"),
        use(name), use(role), use(hash), now;
  });
}

namespace {

std::vector<OperatorRecord> SelectOperators(Poco::Data::Session& s, const std::string& where,
                                            const std::string& param) {
  std::vector<std::string> name, role, hash, created;
  std::string p = param;
  Poco::Data::Statement st(s);
  st << "SELECT name, role, token_sha256, created_at FROM operators " + where + " ORDER BY name",
      into(name), into(role), into(hash), into(created);
  if (!where.empty()) st, use(p);
  st.execute();
  std::vector<OperatorRecord> out;
  for (size_t k = 0; k < name.size(); ++k)
    out.push_back({name[k], ParseRole(role[k]).value_or(Role::kViewer), hash[k], created[k]});
  return out;
}

}  // namespace

Result<std::optional<OperatorRecord>> AccessStore::FindOperatorByToken(
    const std::string& token_sha256) {
  std::lock_guard lock(s_->mutex);
  return Guard("find an operator", [&] {
    auto rows = SelectOperators(*s_->session, "WHERE token_sha256 = ?", token_sha256);
    return rows.empty() ? std::optional<OperatorRecord>{} : std::optional<OperatorRecord>{rows[0]};
  });
}

Result<std::vector<OperatorRecord>> AccessStore::ListOperators() {
  std::lock_guard lock(s_->mutex);
  return Guard("list operators", [&] { return SelectOperators(*s_->session, "", ""); });
}

Result<void> AccessStore::RemoveOperator(const std::string& name) {
  std::lock_guard lock(s_->mutex);
  auto removed = Guard("remove an operator", [&] {
    std::string n = name;
    Poco::Data::Statement st(*s_->session);
    st << "DELETE FROM operators WHERE name = ?", use(n);
    return st.execute();
  });
  LIFEBOAT_TRY(removed);
  if (*removed == 0) return Fail(ErrorCode::kNotFound, "name: no operator " + name);
  return {};
}

// ---- audit ----

Result<void> AccessStore::AddAudit(const AuditRecord& e) {
  std::lock_guard lock(s_->mutex);
  return Guard("write the audit log", [&] {
    std::string who = e.who, action = e.action, target = e.target, outcome = e.outcome,
                detail = e.detail, peer = e.peer;
    *s_->session << (std::string(
                         "INSERT INTO audit(at, who, action, target, outcome, detail, peer) "
                         "VALUES (") +
                     s_->dialect.now + ", ?, ?, ?, ?, ?, ?)"),
        use(who), use(action), use(target), use(outcome), use(detail), use(peer), now;
  });
}

Result<AuditPage> AccessStore::AuditLog(const AuditFilter& filter, uint64_t before_id,
                                        uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("read the audit log", [&] {
    std::vector<Int64> id;
    std::vector<std::string> at, who, action, target, outcome, detail, peer;
    // An empty condition matches everything; the `?`s are bound in this order.
    std::string who_is = filter.who, action_is = filter.action, outcome_is = filter.outcome;
    Int64 before = before_id ? static_cast<Int64>(before_id) : INT64_MAX, n = limit + 1;
    *s_->session << "SELECT id, at, who, action, target, outcome, detail, peer FROM audit "
                    "WHERE id < ? AND (? = '' OR who = ?) AND (? = '' OR action = ?) AND "
                    "(? = '' OR outcome = ?) ORDER BY id DESC LIMIT ?",
        into(id), into(at), into(who), into(action), into(target), into(outcome), into(detail),
        into(peer), use(before), use(who_is), use(who_is), use(action_is), use(action_is),
        use(outcome_is), use(outcome_is), use(n), now;
    AuditPage page;
    for (size_t k = 0; k < id.size() && k < limit; ++k)
      page.entries.push_back({static_cast<uint64_t>(id[k]), at[k], who[k], action[k], target[k],
                              outcome[k], detail[k], peer[k]});
    page.more = id.size() > limit;
    return page;
  });
}

// ---- enrollment and revocation ----

Result<void> AccessStore::AddEnrollmentToken(const std::string& token_sha256,
                                             const std::string& labels, int64_t expires_at,
                                             const std::string& created_by, uint32_t max_uses) {
  std::lock_guard lock(s_->mutex);
  return Guard("add an enrollment token", [&] {
    std::string hash = token_sha256, l = labels, by = created_by;
    Int64 expires = expires_at, uses = max_uses;
    *s_->session << (std::string("INSERT INTO enrollment_tokens(token_sha256, labels, expires_at, "
                                 "created_by, max_uses, created_at) VALUES (?, ?, ?, ?, ?, ") +
                     s_->dialect.now + ")"),
        use(hash), use(l), use(expires), use(by), use(uses), now;
  });
}

Result<std::string> AccessStore::UseEnrollmentToken(const std::string& token_sha256,
                                                    const std::string& machine_id, int64_t at) {
  std::lock_guard lock(s_->mutex);
  auto used = Guard("use an enrollment token", [&] {
    std::string hash = token_sha256, id = machine_id;
    Int64 when = at;
    Poco::Data::Statement update(*s_->session);
    update << (std::string(
                   "UPDATE enrollment_tokens SET uses = uses + 1, used_by = ?, used_at = ") +
               s_->dialect.now +
               " WHERE token_sha256 = ? AND uses < max_uses AND revoked_at = '' AND "
               "expires_at > ?"),
        use(id), use(hash), use(when);
    return update.execute();
  });
  LIFEBOAT_TRY(used);
  auto row = Guard("read an enrollment token", [&] {
    std::vector<std::string> labels, used_by, used_at, revoked_at;
    std::vector<Int64> uses;
    std::string hash = token_sha256;
    *s_->session << "SELECT labels, used_by, used_at, revoked_at, max_uses FROM enrollment_tokens "
                    "WHERE token_sha256 = ?",
        into(labels), into(used_by), into(used_at), into(revoked_at), into(uses), use(hash), now;
    return std::make_tuple(labels, used_by, used_at, revoked_at, uses);
  });
  LIFEBOAT_TRY(row);
  const auto& [labels, used_by, used_at, revoked_at, uses] = *row;
  if (labels.empty()) return Fail(ErrorCode::kUnauthenticated, "token: no such enrollment token");
  if (*used > 0) return labels[0];
  if (!revoked_at[0].empty())
    return Fail(ErrorCode::kUnauthenticated, "token: revoked at " + revoked_at[0]);
  if (!used_by[0].empty() && uses[0] == 1)
    return Fail(ErrorCode::kUnauthenticated, "token: already used, by " + used_by[0] + " at " +
                                                 used_at[0] + "; this token works once");
  if (!used_by[0].empty())
    return Fail(ErrorCode::kUnauthenticated, "token: all its " + std::to_string(uses[0]) +
                                                 " uses are spent (the last by " + used_by[0] +
                                                 " at " + used_at[0] + ")");
  return Fail(ErrorCode::kUnauthenticated, "token: expired");
}

Result<std::vector<EnrollmentTokenRecord>> AccessStore::EnrollmentTokens() {
  std::lock_guard lock(s_->mutex);
  return Guard("list enrollment tokens", [&] {
    std::vector<std::string> hash, labels, by, created, used_by, used_at, revoked;
    std::vector<Int64> expires, max_uses, uses;
    *s_->session << "SELECT token_sha256, labels, expires_at, created_by, created_at, max_uses, "
                    "uses, used_by, used_at, revoked_at FROM enrollment_tokens "
                    "ORDER BY rowid DESC",
        into(hash), into(labels), into(expires), into(by), into(created), into(max_uses),
        into(uses), into(used_by), into(used_at), into(revoked), now;
    std::vector<EnrollmentTokenRecord> out;
    for (size_t i = 0; i < hash.size(); ++i)
      out.push_back({hash[i].substr(0, 12), labels[i], expires[i], by[i], created[i],
                     static_cast<uint32_t>(max_uses[i]), static_cast<uint32_t>(uses[i]), used_by[i],
                     used_at[i], revoked[i]});
    return out;
  });
}

Result<void> AccessStore::RevokeEnrollmentToken(const std::string& id) {
  std::lock_guard lock(s_->mutex);
  auto found = Guard("revoke an enrollment token", [&] {
    std::string prefix = id, again = id;
    int n = 0;
    *s_->session << "SELECT COUNT(*) FROM enrollment_tokens WHERE substr(token_sha256, 1, 12) = ?",
        into(n), use(prefix), now;
    *s_->session << (std::string("UPDATE enrollment_tokens SET revoked_at = ") + s_->dialect.now +
                     " WHERE substr(token_sha256, 1, 12) = ? AND revoked_at = ''"),
        use(again), now;
    return n;
  });
  LIFEBOAT_TRY(found);
  if (*found == 0) return Fail(ErrorCode::kNotFound, "no enrollment token " + id);
  return {};
}

Result<void> AccessStore::RevokeMachine(const std::string& machine_id, const std::string& by) {
  std::lock_guard lock(s_->mutex);
  return Guard("revoke a machine", [&] {
    std::string id = machine_id, who = by;
    // Plain SQL (no INSERT OR IGNORE), so that other dialects run it as it is.
    std::string again = machine_id;
    *s_->session << (std::string("INSERT INTO revoked_machines(machine_id, revoked_by, revoked_at) "
                                 "SELECT ?, ?, ") +
                     s_->dialect.now +
                     " WHERE NOT EXISTS (SELECT 1 FROM revoked_machines WHERE machine_id = ?)"),
        use(id), use(who), use(again), now;
  });
}

Result<std::vector<std::string>> AccessStore::RevokedMachines() {
  std::lock_guard lock(s_->mutex);
  return Guard("list revoked machines", [&] {
    std::vector<std::string> ids;
    *s_->session << "SELECT machine_id FROM revoked_machines", into(ids), now;
    return ids;
  });
}

}  // namespace lifeboat::controller
