#include "agent/journal_store.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <filesystem>
#include <vector>

#include "common/sqlite_file.h"

namespace lifeboat::agent {

using namespace Poco::Data::Keywords;

namespace {

constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

// Each entry migrates from version i to i + 1. Append; never edit a released one.
const std::vector<std::string> kMigrations = {
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
    R"(CREATE TABLE apply_runs(
         id INTEGER PRIMARY KEY,
         disk_id TEXT NOT NULL,
         disk_path TEXT NOT NULL,
         version TEXT NOT NULL,
         image_sha256 TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('running', 'failed', 'done')),
         result TEXT NOT NULL DEFAULT '',
         message TEXT NOT NULL DEFAULT '',
         created_at TEXT NOT NULL,
         finished_at TEXT);
       CREATE TABLE apply_steps(
         run_id INTEGER NOT NULL REFERENCES apply_runs(id),
         name TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('started', 'done')),
         outcome TEXT NOT NULL DEFAULT '',
         started_at TEXT NOT NULL,
         done_at TEXT,
         PRIMARY KEY (run_id, name));
       CREATE TABLE bcd_backups(
         id INTEGER PRIMARY KEY,
         run_id INTEGER REFERENCES apply_runs(id),
         disk_id TEXT NOT NULL,
         store BLOB NOT NULL,
         created_at TEXT NOT NULL);
       CREATE TABLE installs(
         disk_id TEXT PRIMARY KEY,
         disk_path TEXT NOT NULL,
         version TEXT NOT NULL,
         image_sha256 TEXT NOT NULL,
         image_size INTEGER NOT NULL,
         image_name TEXT NOT NULL,
         wim_path TEXT NOT NULL,
         firmware TEXT NOT NULL,
         link TEXT NOT NULL,
         installed_at TEXT NOT NULL);)",
    // The plan each apply run executes (agent/apply_plan.h), as apply --dry-run --json shows it.
    R"(ALTER TABLE apply_runs ADD COLUMN plan_json TEXT NOT NULL DEFAULT '';)",
};

template <typename F>
auto Guard(const char* what, F&& f) -> Result<decltype(f())> {
  return GuardStore("journal", what, std::forward<F>(f));
}

}  // namespace

template <typename F>
auto JournalStore::Write(const char* what, F&& f) -> Result<decltype(f())> {
  auto written = Guard(what, std::forward<F>(f));
  if (written && mirror_) {
    if (auto kept = KeepMirrored(); !kept) return std::unexpected(kept.error());
  }
  return written;
}

class RunJournal : public partition::Journal {
 public:
  RunJournal(JournalStore& store, int64_t run)
      : store_(store), session_(*store.session_), run_(run) {}

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
    return Write("record progress", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index),
                  done = static_cast<Poco::Int64>(bytes_done);
      session_ << "UPDATE steps SET progress = ? WHERE run_id = ? AND idx = ?", use(done),
          use(run_), use(idx), now;
    });
  }
  Result<void> StepDone(size_t index, const std::string& outcome) override {
    return Write("record step done", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index);
      std::string text = outcome;
      session_ << (std::string("UPDATE steps SET state = 'done', outcome = ?, done_at = ") + kNow +
                   " WHERE run_id = ? AND idx = ?"),
          use(text), use(run_), use(idx), now;
    });
  }
  Result<void> SaveTableBackup(const std::vector<uint8_t>& head, const std::vector<uint8_t>& tail,
                               const std::string& sfdisk_dump) override {
    return Write("save the partition table backup", [&] {
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
    return Write("record step", [&] {
      Poco::Int64 idx = static_cast<Poco::Int64>(index);
      session_ << sql, use(run_), use(idx), now;
    });
  }

  template <typename F>
  auto Write(const char* what, F&& f) -> Result<decltype(f())> {
    return store_.Write(what, std::forward<F>(f));
  }

  JournalStore& store_;
  Poco::Data::Session& session_;
  Poco::Int64 run_;
};

JournalStore::JournalStore(std::unique_ptr<Poco::Data::Session> session, std::string path,
                           Mirror mirror)
    : session_(std::move(session)), path_(std::move(path)), mirror_(std::move(mirror)) {}
JournalStore::~JournalStore() = default;

Result<void> JournalStore::KeepMirrored() {
  // A consistent copy of the whole file, WAL included, made by SQLite itself; the file it writes
  // must not exist yet.
  const std::string copy = path_ + ".mirror";
  std::error_code ec;
  std::filesystem::remove(copy, ec);
  LIFEBOAT_TRY(Guard("copy the journal", [&] {
    std::string target = copy;
    *session_ << "VACUUM INTO ?", use(target), now;
  }));
  if (auto kept = mirror_(copy); !kept)
    return std::unexpected(kept.error().Context("keep the journal " + path_ + " safe"));
  return {};
}

Result<std::unique_ptr<JournalStore>> JournalStore::Open(const std::string& path, Mirror mirror) {
  try {
    auto session = OpenSqliteFile(path, kMigrations);
    return std::unique_ptr<JournalStore>(
        new JournalStore(std::move(session), path, std::move(mirror)));
  } catch (const DamagedSqliteFile& e) {
    return Fail(ErrorCode::kCorrupt,
                "the journal " + path + " is damaged (" + e.message() +
                    "); nothing was changed. It holds the partition-table and BCD backups of "
                    "unfinished runs: keep a copy of it, then salvage it with 'sqlite3 " +
                    path + " .recover | sqlite3 " + path +
                    ".recovered' and move that in its place, or, "
                    "when no run was interrupted, move it aside and run again");
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kDatabase, "journal " + path + ": open: " + e.displayText());
  }
}

Result<int64_t> JournalStore::BeginApply(const std::string& disk_id, const std::string& disk_path,
                                         const std::string& version,
                                         const std::string& image_sha256,
                                         const std::string& plan_json) {
  return Write("begin an apply run", [&] {
    std::string id = disk_id, path = disk_path, v = version, sha = image_sha256, plan = plan_json;
    *session_ << (std::string("INSERT INTO apply_runs(disk_id, disk_path, version, image_sha256, "
                              "plan_json, state, created_at) VALUES (?, ?, ?, ?, ?, 'running', ") +
                  kNow + ")"),
        use(id), use(path), use(v), use(sha), use(plan), now;
    Poco::Int64 run = 0;
    *session_ << "SELECT last_insert_rowid()", into(run), now;
    return static_cast<int64_t>(run);
  });
}

Result<void> JournalStore::ApplyStepStarted(int64_t run, const std::string& name) {
  return Write("record an apply step", [&] {
    Poco::Int64 id = run;
    std::string n = name;
    *session_ << (std::string("INSERT OR REPLACE INTO apply_steps(run_id, name, state, started_at) "
                              "VALUES (?, ?, 'started', ") +
                  kNow + ")"),
        use(id), use(n), now;
  });
}

Result<void> JournalStore::ApplyStepDone(int64_t run, const std::string& name,
                                         const std::string& outcome) {
  return Write("record an apply step", [&] {
    Poco::Int64 id = run;
    std::string n = name, text = outcome;
    *session_ << (std::string("UPDATE apply_steps SET state = 'done', outcome = ?, done_at = ") +
                  kNow + " WHERE run_id = ? AND name = ?"),
        use(text), use(id), use(n), now;
  });
}

Result<void> JournalStore::FinishApply(int64_t run, bool ok, const std::string& result,
                                       const std::string& message) {
  return Write("finish an apply run", [&] {
    Poco::Int64 id = run;
    std::string state = ok ? "done" : "failed", r = result, text = message;
    *session_ << (std::string("UPDATE apply_runs SET state = ?, result = ?, message = ?, "
                              "finished_at = ") +
                  kNow + " WHERE id = ?"),
        use(state), use(r), use(text), use(id), now;
  });
}

Result<std::optional<ApplyRecord>> JournalStore::LastApply(const std::string& disk_id) {
  return Guard("read the last apply run", [&] {
    std::vector<Poco::Int64> ids;
    std::vector<std::string> versions, states, results, messages, created, plans;
    std::string id = disk_id;
    *session_
        << "SELECT id, version, state, result, message, created_at, plan_json FROM apply_runs "
           "WHERE disk_id = ? ORDER BY id DESC LIMIT 1",
        into(ids), into(versions), into(states), into(results), into(messages), into(created),
        into(plans), use(id), now;
    if (ids.empty()) return std::optional<ApplyRecord>{};
    ApplyRecord r{ids[0],      versions[0], states[0], results[0],
                  messages[0], created[0],  {},        plans[0]};
    std::vector<std::string> names, step_states;
    Poco::Int64 run = ids[0];
    *session_ << "SELECT name, state FROM apply_steps WHERE run_id = ? ORDER BY started_at, rowid",
        into(names), into(step_states), use(run), now;
    for (size_t i = 0; i < names.size(); ++i) r.steps.emplace_back(names[i], step_states[i]);
    return std::optional<ApplyRecord>{r};
  });
}

Result<void> JournalStore::SaveBcdBackup(int64_t run, const std::string& disk_id,
                                         const std::vector<uint8_t>& store) {
  return Write("save the BCD store backup", [&] {
    Poco::Data::BLOB blob(store.data(), store.size());
    Poco::Int64 id = run;
    std::string disk = disk_id;
    if (run == 0) {
      *session_ << (std::string("INSERT INTO bcd_backups(disk_id, store, created_at) "
                                "VALUES (?, ?, ") +
                    kNow + ")"),
          use(disk), use(blob), now;
      return;
    }
    *session_ << (std::string("INSERT INTO bcd_backups(run_id, disk_id, store, created_at) "
                              "VALUES (?, ?, ?, ") +
                  kNow + ")"),
        use(id), use(disk), use(blob), now;
  });
}

Result<std::optional<std::vector<uint8_t>>> JournalStore::InterruptedBcdBackup(
    const std::string& disk_id) {
  return Guard("read the BCD store backup", [&] {
    std::vector<Poco::Data::BLOB> blobs;
    std::string disk = disk_id;
    // The backup taken by the newest unfinished run whose BCD edit started and did not finish.
    *session_ << "SELECT b.store FROM bcd_backups b JOIN apply_runs r ON r.id = b.run_id "
                 "JOIN apply_steps s ON s.run_id = r.id AND s.name = 'edit-bcd' "
                 "WHERE b.disk_id = ? AND r.state <> 'done' AND s.state = 'started' "
                 "ORDER BY b.id DESC LIMIT 1",
        into(blobs), use(disk), now;
    if (blobs.empty()) return std::optional<std::vector<uint8_t>>{};
    const auto& content = blobs[0].content();
    return std::optional<std::vector<uint8_t>>{
        std::vector<uint8_t>(content.begin(), content.end())};
  });
}

Result<std::vector<std::vector<uint8_t>>> JournalStore::BcdBackups(const std::string& disk_id) {
  return Guard("read the BCD store backups", [&] {
    std::vector<Poco::Data::BLOB> blobs;
    std::string disk = disk_id;
    *session_ << "SELECT store FROM bcd_backups WHERE disk_id = ? ORDER BY id DESC", into(blobs),
        use(disk), now;
    std::vector<std::vector<uint8_t>> stores;
    for (const auto& blob : blobs)
      stores.emplace_back(blob.content().begin(), blob.content().end());
    return stores;
  });
}

Result<void> JournalStore::ForgetInstall(const std::string& disk_id) {
  return Write("forget the installed version", [&] {
    std::string disk = disk_id;
    *session_ << "DELETE FROM installs WHERE disk_id = ?", use(disk), now;
  });
}

Result<void> JournalStore::RecordInstall(const InstallRecord& r) {
  return Write("record the installed version", [&] {
    std::string disk = r.disk_id, path = r.disk_path, version = r.version, sha = r.image_sha256,
                name = r.image_name, wim = r.wim_path, firmware = r.firmware, link = r.link;
    Poco::Int64 size = static_cast<Poco::Int64>(r.image_size);
    *session_ << (std::string("INSERT OR REPLACE INTO installs(disk_id, disk_path, version, "
                              "image_sha256, image_size, image_name, wim_path, firmware, link, "
                              "installed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ") +
                  kNow + ")"),
        use(disk), use(path), use(version), use(sha), use(size), use(name), use(wim), use(firmware),
        use(link), now;
  });
}

Result<std::optional<InstallRecord>> JournalStore::Install(const std::string& disk_id) {
  return Guard("read the installed version", [&] {
    std::vector<std::string> paths, versions, shas, names, wims, firmwares, links, times;
    std::vector<Poco::Int64> sizes;
    std::string disk = disk_id;
    *session_ << "SELECT disk_path, version, image_sha256, image_size, image_name, wim_path, "
                 "firmware, link, installed_at FROM installs WHERE disk_id = ?",
        into(paths), into(versions), into(shas), into(sizes), into(names), into(wims),
        into(firmwares), into(links), into(times), use(disk), now;
    if (versions.empty()) return std::optional<InstallRecord>{};
    return std::optional<InstallRecord>{InstallRecord{disk_id, paths[0], versions[0], shas[0],
                                                      static_cast<uint64_t>(sizes[0]), names[0],
                                                      wims[0], firmwares[0], links[0], times[0]}};
  });
}

Result<std::vector<std::string>> JournalStore::CompletedPlans(const std::string& disk_id) {
  return Guard("read completed plans", [&] {
    std::vector<std::string> plans;
    std::string disk = disk_id;
    *session_ << "SELECT plan_json FROM runs WHERE disk_id = ? AND state = 'done' ORDER BY id",
        into(plans), use(disk), now;
    return plans;
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
  return Write("begin a run", [&] {
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
  return Write("finish a run", [&] {
    Poco::Int64 id = run;
    std::string state = ok ? "done" : "failed", text = message;
    *session_ << (std::string("UPDATE runs SET state = ?, message = ?, finished_at = ") + kNow +
                  " WHERE id = ?"),
        use(state), use(text), use(id), now;
  });
}

std::unique_ptr<partition::Journal> JournalStore::ForRun(int64_t run) {
  return std::make_unique<RunJournal>(*this, run);
}

Result<std::optional<RunRecord>> JournalStore::Run(int64_t run) {
  return Guard("read a run", [&] {
    std::vector<Poco::Int64> ids;
    std::vector<std::string> disks, paths, plans, states, messages;
    Poco::Int64 id = run;
    *session_ << "SELECT id, disk_id, disk_path, plan_json, state, message FROM runs WHERE id = ?",
        into(ids), into(disks), into(paths), into(plans), into(states), into(messages), use(id),
        now;
    if (ids.empty()) return std::optional<RunRecord>{};
    return std::optional<RunRecord>{
        RunRecord{ids[0], disks[0], paths[0], plans[0], states[0], messages[0]}};
  });
}

Result<std::vector<int64_t>> JournalStore::FinishedRunsAfter(const std::string& disk_id,
                                                             int64_t run) {
  return Guard("read later runs", [&] {
    std::vector<Poco::Int64> ids;
    std::string disk = disk_id;
    Poco::Int64 id = run;
    *session_ << "SELECT id FROM runs WHERE disk_id = ? AND id > ? AND state = 'done' ORDER BY id",
        into(ids), use(disk), use(id), now;
    return std::vector<int64_t>(ids.begin(), ids.end());
  });
}

Result<std::optional<partition::TableBackup>> JournalStore::TableBackup(int64_t run) {
  return Guard("read the table backup", [&] {
    std::vector<Poco::Data::BLOB> heads, tails;
    Poco::Int64 id = run;
    *session_ << "SELECT head, COALESCE(tail, x'') FROM table_backups WHERE run_id = ?",
        into(heads), into(tails), use(id), now;
    if (heads.empty()) return std::optional<partition::TableBackup>{};
    return std::optional<partition::TableBackup>{
        partition::TableBackup{{heads[0].content().begin(), heads[0].content().end()},
                               {tails[0].content().begin(), tails[0].content().end()}}};
  });
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
