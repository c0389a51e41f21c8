#include "agent/contact/daemon_state.h"

#include <sqlite3.h>

namespace lifeboat::agent {

namespace {

constexpr const char* kSchema = R"(
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = FULL;
  CREATE TABLE IF NOT EXISTS outbox(
    attempt_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    bytes_done INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (attempt_id, sequence));
  CREATE TABLE IF NOT EXISTS daemon_values(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL);)";

// One prepared statement, finalized on scope exit. Bind() takes values in order.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK;
  }
  ~Statement() { sqlite3_finalize(s_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int64_t v) {
    ok_ = ok_ && sqlite3_bind_int64(s_, ++bound_, v) == SQLITE_OK;
    return *this;
  }
  Statement& Bind(const std::string& v) {
    ok_ = ok_ && sqlite3_bind_text(s_, ++bound_, v.data(), static_cast<int>(v.size()),
                                   SQLITE_TRANSIENT) == SQLITE_OK;
    return *this;
  }
  // True while there is a row; false at the end or on an error (see Failed).
  bool Step() {
    if (!ok_) return false;
    int rc = sqlite3_step(s_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) ok_ = false;
    return rc == SQLITE_ROW;
  }
  int64_t Int(int column) { return sqlite3_column_int64(s_, column); }
  std::string Text(int column) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, column));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, column)))
             : std::string();
  }
  bool Failed() const { return !ok_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
  int bound_ = 0;
};

}  // namespace

Result<std::unique_ptr<DaemonState>> DaemonState::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10000);
    rc = sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Fail(ErrorCode::kIo, "cannot open the daemon's state " + path + ": " + why);
  }
  return std::unique_ptr<DaemonState>(new DaemonState(db, path));
}

DaemonState::~DaemonState() { sqlite3_close(db_); }

Result<StepEvent> DaemonState::QueueEvent(uint64_t attempt_id, StepEvent event) {
  // One statement: the sequence and the time are chosen where the row is written.
  Statement insert(
      db_,
      "INSERT INTO outbox(attempt_id, sequence, step, status, bytes_done, bytes_total, "
      "message, at) SELECT ?1, MAX(COALESCE(MAX(sequence), 0), "
      "COALESCE((SELECT CAST(value AS INTEGER) FROM daemon_values "
      "WHERE key = 'sequence_floor:' || ?1), 0)) + 1, ?2, ?3, ?4, ?5, ?6, "
      "strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM outbox WHERE attempt_id = ?1 "
      "RETURNING sequence, at");
  insert.Bind(static_cast<int64_t>(attempt_id))
      .Bind(event.step)
      .Bind(std::string(StepStatusName(event.status)))
      .Bind(static_cast<int64_t>(event.bytes_done))
      .Bind(static_cast<int64_t>(event.bytes_total))
      .Bind(event.message);
  if (insert.Step()) {
    event.sequence = static_cast<uint64_t>(insert.Int(0));
    event.at = insert.Text(1);
  }
  insert.Step();  // to SQLITE_DONE: the row is committed
  if (insert.Failed())
    return Fail(ErrorCode::kIo, "queue a step event in " + path_ + ": " + sqlite3_errmsg(db_));
  return event;
}

Result<std::vector<std::pair<uint64_t, std::vector<StepEvent>>>> DaemonState::UnsentEvents() {
  Statement select(db_,
                   "SELECT attempt_id, sequence, step, status, bytes_done, bytes_total, message, "
                   "at FROM outbox WHERE sent = 0 ORDER BY attempt_id, sequence");
  std::vector<std::pair<uint64_t, std::vector<StepEvent>>> out;
  while (select.Step()) {
    auto attempt = static_cast<uint64_t>(select.Int(0));
    if (out.empty() || out.back().first != attempt)
      out.emplace_back(attempt, std::vector<StepEvent>{});
    const auto status = ParseStepStatus(select.Text(3));
    if (!status)
      return Fail(ErrorCode::kCorrupt,
                  path_ + ": outbox holds an event of unknown status '" + select.Text(3) + "'");
    out.back().second.push_back({static_cast<uint64_t>(select.Int(1)), select.Text(2), *status,
                                 static_cast<uint64_t>(select.Int(4)),
                                 static_cast<uint64_t>(select.Int(5)), select.Text(6),
                                 select.Text(7)});
  }
  if (select.Failed())
    return Fail(ErrorCode::kIo,
                "read unsent step events from " + path_ + ": " + sqlite3_errmsg(db_));
  return out;
}

Result<void> DaemonState::MarkSent(uint64_t attempt_id, uint64_t upto) {
  Statement update(db_, "UPDATE outbox SET sent = 1 WHERE attempt_id = ? AND sequence <= ?");
  update.Bind(static_cast<int64_t>(attempt_id)).Bind(static_cast<int64_t>(upto)).Step();
  if (update.Failed())
    return Fail(ErrorCode::kIo, "mark step events sent in " + path_ + ": " + sqlite3_errmsg(db_));
  return {};
}

Result<std::optional<std::string>> DaemonState::GetValue(const std::string& key) {
  Statement select(db_, "SELECT value FROM daemon_values WHERE key = ?");
  select.Bind(key);
  std::optional<std::string> value;
  if (select.Step()) value = select.Text(0);
  if (select.Failed())
    return Fail(ErrorCode::kIo, "read " + key + " from " + path_ + ": " + sqlite3_errmsg(db_));
  return value;
}

Result<void> DaemonState::SetValue(const std::string& key, const std::string& value) {
  Statement upsert(db_, "INSERT OR REPLACE INTO daemon_values(key, value) VALUES (?, ?)");
  upsert.Bind(key).Bind(value).Step();
  if (upsert.Failed())
    return Fail(ErrorCode::kIo, "write " + key + " to " + path_ + ": " + sqlite3_errmsg(db_));
  return {};
}

Result<void> DaemonState::RaiseSequenceFloor(uint64_t attempt_id, uint64_t sequence) {
  const std::string key = "sequence_floor:" + std::to_string(attempt_id);
  auto floor = GetValue(key);
  LIFEBOAT_TRY(floor);
  if (*floor && std::stoull(**floor) >= sequence) return {};
  return SetValue(key, std::to_string(sequence));
}

}  // namespace lifeboat::agent
