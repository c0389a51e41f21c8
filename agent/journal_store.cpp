#include "agent/journal_store.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <filesystem>

namespace lifeboat::agent {

using namespace Poco::Data::Keywords;

namespace {

constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

// Each entry migrates from version i to i + 1. Append; never edit a released one.
const char* const kMigrations[] = {
    R"(CREATE TABLE runs(
         id INTEGER PRIMARY KEY,
         disk_id TEXT NOT NULL,
         disk_path TEXT NOT NULL,
         plan_json TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('running', 'failed', 'done')),
         message TEXT NOT NULL DEFAULT '',
         created_at TEXT NOT NULL,
         finished_at TEXT);
       CREATE TABLE steps(
         run_id INTEGER NOT NULL REFERENCES runs(id),
         idx INTEGER NOT NULL,
         kind TEXT NOT NULL,
         description TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('pending', 'started', 'done')),
         progress INTEGER NOT NULL DEFAULT 0,
         outcome TEXT NOT NULL DEFAULT '',
         started_at TEXT,
         done_at TEXT,
         PRIMARY KEY (run_id, idx));
       CREATE TABLE table_backups(
         run_id INTEGER PRIMARY KEY REFERENCES runs(id),
         head BLOB NOT NULL,
         tail BLOB,  -- NULL on MBR disks: nothing is kept at the end
         sfdisk_dump TEXT NOT NULL,
         created_at TEXT NOT NULL);)",
};

template <typename F>
auto Guard(const char* what, F&& f) -> Result<decltype(f())> {
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      return {};
    } else {
      return f();
    }
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kJournal, std::string("journal: ") + what + ": " + e.displayText());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kJournal, std::string("journal: ") + what + ": " + e.what());
  }
}

}  // namespace

class RunJournal : public partition::Journal {
 public:
  RunJournal(Poco::Data::Session& session, int64_t run) : session_(session), run_(run) {}

  Result<partition::StepRecord> Step(size_t index) override {
    return Guard("read step", [&] {
      std::string state;
      Poco::Int64 progress = 0;
      Poco::Int64 idx = static_cast<Poco::Int64>(index);
      session_ << "SELECT state, progress FROM steps WHERE run_id = ? AND idx = ?", into(state),
          into(progress), use(run_), use(idx), now;
      return partition::StepRecord{state != "pending", state == "done",
                                   static_cast<uint64_t>(progress)};
    });
  }
  Result<void> StepStarted(size_t index) override {
    return Update(index, std::string("UPDATE steps SET state = 'started', started_at = ") + kNow +
                             " WHERE run_id = ? AND idx = ?");
  }
  Result<void> StepProgress(size_t index, uint64_t bytes_done) override {
    return Guard("record progress", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index),
                  done = static_cast<Poco::Int64>(bytes_done);
      session_ << "UPDATE steps SET progress = ? WHERE run_id = ? AND idx = ?", use(done),
          use(run_), use(idx), now;
    });
  }
  Result<void> StepDone(size_t index, const std::string& outcome) override {
    return Guard("record step done", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index);
      std::string text = outcome;
      session_ << (std::string("UPDATE steps SET state = 'done', outcome = ?, done_at = ") + kNow +
                   " WHERE run_id = ? AND idx = ?"),
          use(text), use(run_), use(idx), now;
    });
  }
  Result<void> SaveTableBackup(const std::vector<uint8_t>& head, const std::vector<uint8_t>& tail,
                               const std::string& sfdisk_dump) override {
    return Guard("save the partition table backup", [&] {
      Poco::Data::BLOB head_blob(head.data(), head.size()), tail_blob(tail.data(), tail.size());
      std::string dump = sfdisk_dump;
      session_ << (std::string("INSERT OR REPLACE INTO table_backups(run_id, head, tail, "
                               "sfdisk_dump, created_at) "
                               "VALUES (?, ?, ?, ?, ") +
                   kNow + ")"),
          use(run_), use(head_blob), use(tail_blob), use(dump), now;
    });
  }

 private:
  Result<void> Update(size_t index, const std::string& sql) {
    return Guard("record step", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index);
      session_ << sql, use(run_), use(idx), now;
    });
  }

  Poco::Data::Session& session_;
  Poco::Int64 run_;
};

JournalStore::JournalStore(std::unique_ptr<Poco::Data::Session> session)
    : session_(std::move(session)) {}
JournalStore::~JournalStore() = default;

Result<std::unique_ptr<JournalStore>> JournalStore::Open(const std::string& path) {
  std::error_code ec;
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec)
    return Fail(ErrorCode::kJournal,
                "journal: cannot create " + folder.string() + ": " + ec.message());
  return Guard("open", [&] {
    Poco::Data::SQLite::Connector::registerConnector();
    auto session = std::make_unique<Poco::Data::Session>("SQLite", path);
    *session << "PRAGMA journal_mode = WAL", now;
    *session << "PRAGMA synchronous = FULL", now;
    *session << "PRAGMA foreign_keys = ON", now;
    *session << "PRAGMA busy_timeout = 10000", now;
    int version = 0;
    *session << "PRAGMA user_version", into(version), now;
    const int target = static_cast<int>(std::size(kMigrations));
    for (; version < target; ++version) {
      session->begin();
      // One statement per call: split the migration at its semicolons (none occur in literals).
      const std::string migration = kMigrations[version];
      size_t begin = 0;
      while (begin < migration.size()) {
        size_t end = migration.find(';', begin);
        if (end == std::string::npos) end = migration.size();
        const std::string statement = migration.substr(begin, end - begin);
        if (statement.find_first_not_of(" \n\t") != std::string::npos) *session << statement, now;
        begin = end + 1;
      }
      *session << ("PRAGMA user_version = " + std::to_string(version + 1)), now;
      session->commit();
    }
    return std::unique_ptr<JournalStore>(new JournalStore(std::move(session)));
  });
}

Result<std::optional<RunRecord>> JournalStore::UnfinishedRun(const std::string& disk_id) {
  return Guard("find an unfinished run", [&] {
    std::vector<Poco::Int64> ids;
    std::vector<std::string> paths, plans, states, messages;
    std::string id_copy = disk_id;
    *session_ << "SELECT id, disk_path, plan_json, state, message FROM runs "
                 "WHERE disk_id = ? AND state <> 'done' ORDER BY id DESC LIMIT 1",
        into(ids), into(paths), into(plans), into(states), into(messages), use(id_copy), now;
    if (ids.empty()) return std::optional<RunRecord>{};
    return std::optional<RunRecord>{
        RunRecord{ids[0], disk_id, paths[0], plans[0], states[0], messages[0]}};
  });
}

Result<int64_t> JournalStore::BeginRun(
    const std::string& disk_id, const std::string& disk_path, const std::string& plan_json,
    const std::vector<std::pair<std::string, std::string>>& steps) {
  return Guard("begin a run", [&] {
    std::string id = disk_id, path = disk_path, plan = plan_json;
    session_->begin();
    *session_ << (std::string("INSERT INTO runs(disk_id, disk_path, plan_json, state, created_at) "
                              "VALUES (?, ?, ?, 'running', ") +
                  kNow + ")"),
        use(id), use(path), use(plan), now;
    Poco::Int64 run = 0;
    *session_ << "SELECT last_insert_rowid()", into(run), now;
    for (size_t i = 0; i < steps.size(); ++i) {
      Poco::Int64 idx = static_cast<Poco::Int64>(i);
      std::string kind = steps[i].first, description = steps[i].second;
      *session_ << "INSERT INTO steps(run_id, idx, kind, description, state) VALUES (?, ?, ?, ?, "
                   "'pending')",
          use(run), use(idx), use(kind), use(description), now;
    }
    session_->commit();
    return static_cast<int64_t>(run);
  });
}

Result<void> JournalStore::FinishRun(int64_t run, bool ok, const std::string& message) {
  return Guard("finish a run", [&] {
    Poco::Int64 id = run;
    std::string state = ok ? "done" : "failed", text = message;
    *session_ << (std::string("UPDATE runs SET state = ?, message = ?, finished_at = ") + kNow +
                  " WHERE id = ?"),
        use(state), use(text), use(id), now;
  });
}

std::unique_ptr<partition::Journal> JournalStore::ForRun(int64_t run) {
  return std::make_unique<RunJournal>(*session_, run);
}

Result<std::optional<std::string>> JournalStore::TableDump(int64_t run) {
  return Guard("read the table backup", [&] {
    std::vector<std::string> dumps;
    Poco::Int64 id = run;
    *session_ << "SELECT sfdisk_dump FROM table_backups WHERE run_id = ?", into(dumps), use(id),
        now;
    return dumps.empty() ? std::optional<std::string>{} : std::optional<std::string>{dumps[0]};
  });
}

}  // namespace lifeboat::agent
