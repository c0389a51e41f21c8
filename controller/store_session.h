// The controller's one database connection, shared by its stores (fleet_store: images, machines,
// rollouts; access_store: operators, tokens, revocations, audit; identity_store: hardware
// identities and pending machines): the Poco::Data session, the SQL that differs between
// backends, and the lock that serialises calls on them. Included only by the stores' .cpp files,
// the one place Poco::Data is used.
#pragma once

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Session.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/sqlite_file.h"
#include "controller/prepared_statements.h"

namespace lifeboat::controller {

// The SQL that differs between backends. Everything else is written to run on both; a
// PostgreSQL backend is its connector, a PreparedStatements of its own, and a Dialect like
// {"to_char(now() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", "SELECT lastval()",
//  "BIGSERIAL PRIMARY KEY", "(inventory::jsonb->>'winreFreeBytes')::bigint"}.
struct Dialect {
  const char* now;      // current time as RFC 3339 text, UTC
  const char* last_id;  // the id the last INSERT generated, in this session
  const char* id_column;
  // A machine's inventory (protobuf's JSON of lifeboat.v1.Inventory) reports WinRE's free space
  // as this integer; NULL when it does not.
  const char* winre_free_bytes;
};

// The embedded SQLite the controller uses.
inline constexpr Dialect kSqliteDialect{
    "strftime('%Y-%m-%dT%H:%M:%fZ','now')", "SELECT last_insert_rowid()", "INTEGER PRIMARY KEY",
    "CAST(json_extract(inventory, '$.winreFreeBytes') AS INTEGER)"};

// The state a rollout has in the store while its members are being added: no read shows it.
inline constexpr const char* kCreatingState = "creating";

struct StoreSession {
  StoreSession(std::unique_ptr<Poco::Data::Session> s, const Dialect& d, std::string p)
      : session(std::move(s)), dialect(d), path(std::move(p)) {}
  std::unique_ptr<Poco::Data::Session> session;
  const Dialect& dialect;
  const std::string path;
  std::mutex mutex;  // one call at a time on the session
  // The statements of the hottest writes, prepared once on `session` (and, declared after it,
  // finalized before it closes).
  PreparedStatements prepared{*session};
};

// The controller database's schema: each entry migrates from version i to i + 1
// (controller/fleet_schema.cpp).
std::vector<std::string> FleetMigrations(const Dialect& d);

// Runs one store call, its Poco exceptions turned into errors naming the fleet store.
template <typename F>
auto Guard(const char* what, F&& f) -> Result<decltype(f())> {
  return GuardStore("fleet store", what, std::forward<F>(f));
}

// Whether `count_sql` (a SELECT COUNT(*) whose one `?` is bound to `key`) counts any row.
// The caller holds the session's mutex.
inline Result<bool> AnyRow(StoreSession& s, const char* what, const char* count_sql,
                           std::string key) {
  return Guard(what, [&] {
    using namespace Poco::Data::Keywords;
    int n = 0;
    *s.session << count_sql, into(n), use(key), now;
    return n > 0;
  });
}

// kNotFound unless the machine exists. The caller holds the session's mutex.
inline Result<void> RequireMachine(StoreSession& s, const std::string& machine_id) {
  auto known =
      AnyRow(s, "find a machine", "SELECT COUNT(*) FROM machines WHERE id = ?", machine_id);
  LIFEBOAT_TRY(known);
  if (!*known) return Fail(ErrorCode::kNotFound, "machine_id: no machine " + machine_id);
  return {};
}

}  // namespace lifeboat::controller
