#include "controller/fleet_store.h"

#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <filesystem>
#include <sstream>
#include <tuple>

#include "common/sha256.h"
#include "common/sqlite_file.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

// The SQL that differs between backends. Everything else is written to run on both; a
// PostgreSQL backend is its connector and a Dialect like
// {"to_char(now() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", "SELECT lastval()",
//  "BIGSERIAL PRIMARY KEY"}.
struct Dialect {
  const char* now;      // current time as RFC 3339 text, UTC
  const char* last_id;  // the id the last INSERT generated, in this session
  const char* id_column;
};

namespace {

constexpr Dialect kSqlite{"strftime('%Y-%m-%dT%H:%M:%fZ','now')", "SELECT last_insert_rowid()",
                          "INTEGER PRIMARY KEY"};

// Each entry migrates from version i to i + 1. Append; never edit a released one.
std::vector<std::string> Migrations(const Dialect& d) {
  const std::string id = d.id_column;
  return {
      "CREATE TABLE images("
      "  version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
      "  name TEXT NOT NULL, description TEXT NOT NULL, architecture TEXT NOT NULL,"
      "  boot_index INTEGER NOT NULL, file_count INTEGER NOT NULL,"
      "  has_winload_efi INTEGER NOT NULL, has_winload_exe INTEGER NOT NULL,"
      "  has_boot_sdi INTEGER NOT NULL, blob_path TEXT NOT NULL,"
      "  published_at TEXT NOT NULL, retired INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX images_sha ON images(sha256);"
      "CREATE TABLE machines("
      "  id TEXT PRIMARY KEY, hostname TEXT NOT NULL, inventory TEXT NOT NULL,"
      "  installed_version TEXT NOT NULL, state TEXT NOT NULL, current_step TEXT NOT NULL,"
      "  last_seen TEXT NOT NULL, registered_at TEXT NOT NULL);"
      "CREATE TABLE machine_labels("
      "  machine_id TEXT NOT NULL REFERENCES machines(id), key TEXT NOT NULL, value TEXT NOT NULL,"
      "  PRIMARY KEY (machine_id, key));"
      "CREATE TABLE rollouts("
      "  id " +
          id +
          ", image_version TEXT NOT NULL REFERENCES images(version),"
          "  selector_all INTEGER NOT NULL, selector_machines TEXT NOT NULL, waves TEXT NOT NULL,"
          "  wait_seconds INTEGER NOT NULL, max_in_progress INTEGER NOT NULL,"
          "  failure_threshold INTEGER NOT NULL, max_retries INTEGER NOT NULL,"
          "  wave_ends TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,"
          "  created_at TEXT NOT NULL, rollback_of INTEGER NOT NULL);"
          "CREATE TABLE rollout_labels("
          "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id), key TEXT NOT NULL,"
          "  value TEXT NOT NULL, PRIMARY KEY (rollout_id, key));"
          "CREATE TABLE rollout_members("
          "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
          "  machine_id TEXT NOT NULL REFERENCES machines(id), position INTEGER NOT NULL,"
          "  state TEXT NOT NULL, attempts INTEGER NOT NULL, finished_at TEXT NOT NULL,"
          "  previous_version TEXT NOT NULL, last_attempt_id INTEGER NOT NULL,"
          "  PRIMARY KEY (rollout_id, machine_id));"
          "CREATE INDEX rollout_members_machine ON rollout_members(machine_id);"
          "CREATE TABLE attempts("
          "  id " +
          id +
          ", rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
          "  machine_id TEXT NOT NULL REFERENCES machines(id), image_version TEXT NOT NULL,"
          "  state TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,"
          "  error TEXT NOT NULL, max_sequence INTEGER NOT NULL);"
          "CREATE INDEX attempts_machine ON attempts(machine_id);"
          "CREATE TABLE step_events("
          "  attempt_id INTEGER NOT NULL REFERENCES attempts(id), sequence INTEGER NOT NULL,"
          "  step TEXT NOT NULL, status TEXT NOT NULL, bytes_done INTEGER NOT NULL,"
          "  bytes_total INTEGER NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL,"
          "  PRIMARY KEY (attempt_id, sequence));",
      "ALTER TABLE machines ADD COLUMN boot_recovery INTEGER NOT NULL DEFAULT 0;",
      // Signatures given at publish (ImageSignatureRecord; the signature as hex).
      "ALTER TABLE images ADD COLUMN signed_manifest TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN signature TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN signing_key_id TEXT NOT NULL DEFAULT '';",
      "CREATE TABLE operators("
      "  name TEXT PRIMARY KEY, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,"
      "  created_at TEXT NOT NULL);",
      "CREATE TABLE audit("
      "  id " +
          id +
          ", at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
          "  outcome TEXT NOT NULL, detail TEXT NOT NULL, peer TEXT NOT NULL);",
      "CREATE TABLE enrollment_tokens("
      "  token_sha256 TEXT PRIMARY KEY, labels TEXT NOT NULL, expires_at INTEGER NOT NULL,"
      "  created_by TEXT NOT NULL, used_by TEXT NOT NULL DEFAULT '',"
      "  used_at TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE revoked_machines("
      "  machine_id TEXT PRIMARY KEY, revoked_by TEXT NOT NULL, revoked_at TEXT NOT NULL);",
      // Offline machines are skipped past a deadline; a resumed halt accepts the failures seen;
      // rollouts of unsigned images are allowed only when asked for.
      "ALTER TABLE rollouts ADD COLUMN machine_deadline INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollouts ADD COLUMN allow_unsigned INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollouts ADD COLUMN accepted_failures INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollout_members ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;",
  };
}

template <typename F>
auto Guard(const char* what, F&& f) -> Result<decltype(f())> {
  return GuardStore("fleet store", what, std::forward<F>(f));
}

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

std::string FormatTime(TimePoint t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return text;
}

std::optional<TimePoint> ParseTime(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::tm tm{};
  double seconds = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%lfZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &seconds) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = 0;
  auto whole = Clock::from_time_t(timegm(&tm));
  return whole +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

namespace {

// What a person does about a damaged store.
std::string Damaged(const std::string& path, const std::string& what) {
  return "the fleet store " + path + " is damaged (" + what +
         "); the controller does not run on it. Stop the controller and keep a copy of the "
         "data directory; then restore fleet.db from a backup, or salvage what SQLite can still "
         "read: sqlite3 " +
         path + " .recover | sqlite3 " + path + ".recovered, check it, and move it in place of " +
         path + " (removing fleet.db-wal and fleet.db-shm)";
}

}  // namespace

FleetStore::FleetStore(std::unique_ptr<Poco::Data::Session> session, const Dialect& dialect)
    : session_(std::move(session)), dialect_(dialect) {}
FleetStore::~FleetStore() = default;

Result<std::unique_ptr<FleetStore>> FleetStore::OpenSqlite(const std::string& path) {
  std::error_code ec;
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec)
    return Fail(ErrorCode::kDatabase,
                "fleet store: cannot create " + folder.string() + ": " + ec.message());
  try {
    auto session = OpenSqliteFile(path, Migrations(kSqlite));
    auto store = std::unique_ptr<FleetStore>(new FleetStore(std::move(session), kSqlite));
    store->path_ = path;
    return store;
  } catch (const DamagedSqliteFile& e) {
    return Fail(ErrorCode::kCorrupt, Damaged(path, e.message()));
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kDatabase, "fleet store " + path + ": open: " + e.displayText());
  }
}

Result<void> FleetStore::CheckIntegrity() {
  try {
    if (const std::string check = QuickCheckSqliteFile(path_); check != "ok")
      return Fail(ErrorCode::kCorrupt, Damaged(path_, "SQLite's quick_check found: " + check));
    return {};
  } catch (const DamagedSqliteFile& e) {
    return Fail(ErrorCode::kCorrupt, Damaged(path_, e.message()));
  }
}

// ---- images ----

Result<void> FleetStore::AddImage(const ImageRecord& i) {
  std::lock_guard lock(mutex_);
  auto existing = Guard("find an image", [&] {
    int n = 0;
    std::string v = i.version;
    *session_ << "SELECT COUNT(*) FROM images WHERE version = ?", into(n), use(v), now;
    return n;
  });
  if (!existing) return std::unexpected(existing.error());
  if (*existing > 0)
    return Fail(ErrorCode::kAlreadyExists, "version " + i.version + " is already published");
  return Guard("add an image", [&] {
    std::string version = i.version, sha = i.sha256, name = i.name, desc = i.description,
                arch = i.architecture, blob = i.blob_path, manifest = i.signature.manifest,
                signature = ToHex({reinterpret_cast<const uint8_t*>(i.signature.signature.data()),
                                   i.signature.signature.size()}),
                key_id = i.signature.key_id;
    Int64 size = static_cast<Int64>(i.size), files = static_cast<Int64>(i.file_count);
    int boot = static_cast<int>(i.boot_index), efi = i.has_winload_efi, exe = i.has_winload_exe,
        sdi = i.has_boot_sdi;
    *session_ << (std::string("INSERT INTO images(version, sha256, size, name, description, "
                              "architecture, boot_index, file_count, has_winload_efi, "
                              "has_winload_exe, has_boot_sdi, blob_path, signed_manifest, "
                              "signature, signing_key_id, published_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ") +
                  dialect_.now + ")"),
        use(version), use(sha), use(size), use(name), use(desc), use(arch), use(boot), use(files),
        use(efi), use(exe), use(sdi), use(blob), use(manifest), use(signature), use(key_id), now;
  });
}

namespace {

const char* kImageColumns =
    "version, sha256, size, name, description, architecture, boot_index, file_count, "
    "has_winload_efi, has_winload_exe, has_boot_sdi, blob_path, published_at, retired, "
    "signed_manifest, signature, signing_key_id";

// Reads rows of kImageColumns.
std::vector<ImageRecord> SelectImages(Poco::Data::Session& s, const std::string& where,
                                      const std::string& param, bool with_param) {
  std::vector<std::string> version, sha, name, desc, arch, blob, published, manifest, signature,
      key_id;
  std::vector<Int64> size, files;
  std::vector<int> boot, efi, exe, sdi, retired;
  std::string p = param;
  Poco::Data::Statement st(s);
  st << (std::string("SELECT ") + kImageColumns + " FROM images " + where +
         " ORDER BY published_at, version"),
      into(version), into(sha), into(size), into(name), into(desc), into(arch), into(boot),
      into(files), into(efi), into(exe), into(sdi), into(blob), into(published), into(retired),
      into(manifest), into(signature), into(key_id);
  if (with_param) st, use(p);
  st.execute();
  std::vector<ImageRecord> out;
  for (size_t k = 0; k < version.size(); ++k) {
    out.push_back({version[k],
                   sha[k],
                   static_cast<uint64_t>(size[k]),
                   name[k],
                   desc[k],
                   arch[k],
                   static_cast<uint32_t>(boot[k]),
                   static_cast<uint64_t>(files[k]),
                   efi[k] != 0,
                   exe[k] != 0,
                   sdi[k] != 0,
                   blob[k],
                   published[k],
                   retired[k] != 0,
                   {manifest[k], FromHex(signature[k]).value_or(""), key_id[k]}});
  }
  return out;
}

}  // namespace

Result<std::optional<ImageRecord>> FleetStore::FindImage(const std::string& version) {
  std::lock_guard lock(mutex_);
  return Guard("find an image", [&] {
    auto rows = SelectImages(*session_, "WHERE version = ?", version, true);
    return rows.empty() ? std::optional<ImageRecord>{} : std::optional<ImageRecord>{rows[0]};
  });
}

Result<std::optional<ImageRecord>> FleetStore::FindImageBySha(const std::string& sha256) {
  std::lock_guard lock(mutex_);
  return Guard("find an image", [&] {
    auto rows = SelectImages(*session_, "WHERE sha256 = ?", sha256, true);
    return rows.empty() ? std::optional<ImageRecord>{} : std::optional<ImageRecord>{rows[0]};
  });
}

Result<std::vector<ImageRecord>> FleetStore::ListImages(bool include_retired) {
  std::lock_guard lock(mutex_);
  return Guard("list images", [&] {
    return SelectImages(*session_, include_retired ? "" : "WHERE retired = 0", "", false);
  });
}

Result<ImageRecord> FleetStore::RetireImage(const std::string& version) {
  std::unique_lock lock(mutex_);
  auto found = Guard("retire an image", [&] {
    auto rows = SelectImages(*session_, "WHERE version = ?", version, true);
    int users = 0;
    std::string v = version;
    *session_ << "SELECT COUNT(*) FROM rollouts WHERE image_version = ? AND state IN "
                 "('active', 'paused', 'halted')",
        into(users), use(v), now;
    return std::make_pair(rows, users);
  });
  if (!found) return std::unexpected(found.error());
  if (found->first.empty()) return Fail(ErrorCode::kNotFound, "no image version " + version);
  if (found->second > 0) {
    return Fail(ErrorCode::kConflict, "image " + version + " is used by " +
                                          std::to_string(found->second) +
                                          " rollout(s) that have not finished; abort them first");
  }
  auto done = Guard("retire an image", [&] {
    std::string v = version;
    *session_ << "UPDATE images SET retired = 1 WHERE version = ?", use(v), now;
  });
  if (!done) return std::unexpected(done.error());
  ImageRecord image = found->first[0];
  image.retired = true;
  return image;
}

// ---- machines ----

Result<void> FleetStore::RegisterMachine(const MachineRecord& m) {
  std::lock_guard lock(mutex_);
  return Guard("register a machine", [&] {
    std::string id = m.id, host = m.hostname, inventory = m.inventory,
                installed = m.installed_version, state = m.state.empty() ? "idle" : m.state,
                step = m.current_step;
    session_->begin();
    int n = 0;
    *session_ << "SELECT COUNT(*) FROM machines WHERE id = ?", into(n), use(id), now;
    if (n == 0) {
      *session_ << (std::string("INSERT INTO machines(id, hostname, inventory, installed_version, "
                                "state, current_step, last_seen, registered_at) VALUES "
                                "(?, ?, ?, ?, ?, ?, ") +
                    dialect_.now + ", " + dialect_.now + ")"),
          use(id), use(host), use(inventory), use(installed), use(state), use(step), now;
    } else {
      *session_ << (std::string("UPDATE machines SET hostname = ?, inventory = ?, "
                                "installed_version = ?, last_seen = ") +
                    dialect_.now + " WHERE id = ?"),
          use(host), use(inventory), use(installed), use(id), now;
    }
    *session_ << "DELETE FROM machine_labels WHERE machine_id = ?", use(id), now;
    for (const auto& [key, value] : m.labels) {
      std::string k = key, v = value;
      *session_ << "INSERT INTO machine_labels(machine_id, key, value) VALUES (?, ?, ?)", use(id),
          use(k), use(v), now;
    }
    session_->commit();
  });
}

Result<void> FleetStore::RecordHeartbeats(const std::vector<Heartbeat>& heartbeats) {
  if (heartbeats.empty()) return {};
  std::lock_guard lock(mutex_);
  return Guard("record heartbeats", [&] {
    session_->begin();
    try {
      for (const auto& h : heartbeats) {
        std::string i = h.id, inv = h.inventory, installed = h.installed_version, st = h.state,
                    step = h.current_step;
        *session_ << (std::string(
                          "UPDATE machines SET "
                          "inventory = CASE WHEN ? = '' THEN inventory ELSE ? END, "
                          "installed_version = CASE WHEN ? = '' THEN installed_version ELSE ? END, "
                          "state = ?, current_step = ?, last_seen = ") +
                      dialect_.now + " WHERE id = ?"),
            use(inv), use(inv), use(installed), use(installed), use(st), use(step), use(i), now;
      }
      session_->commit();
    } catch (...) {
      session_->rollback();
      throw;
    }
  });
}

Result<void> FleetStore::SetBootRecovery(const std::string& id, bool pending) {
  std::lock_guard lock(mutex_);
  auto updated = Guard("record a boot-recovery request", [&] {
    std::string i = id;
    int flag = pending;
    Poco::Data::Statement update(*session_);
    update << "UPDATE machines SET boot_recovery = ? WHERE id = ?", use(flag), use(i);
    return update.execute();
  });
  if (!updated) return std::unexpected(updated.error());
  if (*updated == 0) return Fail(ErrorCode::kNotFound, "machine_id: no machine " + id);
  return {};
}

Result<std::vector<std::string>> FleetStore::MachineIds() {
  std::lock_guard lock(mutex_);
  return Guard("list machine ids", [&] {
    std::vector<std::string> ids;
    *session_ << "SELECT id FROM machines", into(ids), now;
    return ids;
  });
}

namespace {

std::vector<MachineRecord> SelectMachines(Poco::Data::Session& s, const std::string& id_filter) {
  std::vector<std::string> id, host, inventory, installed, state, step, seen, registered;
  std::vector<int> boot;
  std::string filter = id_filter;
  Poco::Data::Statement st(s);
  st << (std::string("SELECT id, hostname, inventory, installed_version, state, current_step, "
                     "last_seen, registered_at, boot_recovery FROM machines") +
         (id_filter.empty() ? "" : " WHERE id = ?") + " ORDER BY id"),
      into(id), into(host), into(inventory), into(installed), into(state), into(step), into(seen),
      into(registered), into(boot);
  if (!id_filter.empty()) st, use(filter);
  st.execute();
  std::vector<std::string> label_machine, keys, values;
  s << "SELECT machine_id, key, value FROM machine_labels", into(label_machine), into(keys),
      into(values), now;
  std::map<std::string, std::map<std::string, std::string>> labels;
  for (size_t k = 0; k < label_machine.size(); ++k) labels[label_machine[k]][keys[k]] = values[k];
  std::vector<MachineRecord> out;
  for (size_t k = 0; k < id.size(); ++k) {
    out.push_back({id[k], host[k], labels[id[k]], inventory[k], installed[k], state[k], step[k],
                   seen[k], registered[k], boot[k] != 0});
  }
  return out;
}

}  // namespace

Result<std::optional<MachineRecord>> FleetStore::FindMachine(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (id.empty()) return std::optional<MachineRecord>{};
  return Guard("find a machine", [&] {
    auto rows = SelectMachines(*session_, id);
    return rows.empty() ? std::optional<MachineRecord>{} : std::optional<MachineRecord>{rows[0]};
  });
}

Result<std::vector<MachineRecord>> FleetStore::ListMachines(
    const std::map<std::string, std::string>& labels) {
  std::lock_guard lock(mutex_);
  return Guard("list machines", [&] {
    auto rows = SelectMachines(*session_, "");
    std::vector<MachineRecord> out;
    for (auto& m : rows) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = m.labels.find(k);
        if (it == m.labels.end() || it->second != v) match = false;
      }
      if (match) out.push_back(std::move(m));
    }
    return out;
  });
}

// ---- rollouts ----

Result<uint64_t> FleetStore::CreateRollout(const RolloutRecord& r,
                                           const std::vector<std::string>& machine_ids) {
  std::lock_guard lock(mutex_);
  return Guard("create a rollout", [&] {
    std::string image = r.spec.image_version, machines = JoinLines(r.spec.selector.machine_ids),
                waves = WavesText(r.spec.waves), ends = JoinNumbers(r.wave_ends),
                state = RolloutStateName(r.state), message = r.message;
    int all = r.spec.selector.all, unsigned_ok = r.spec.allow_unsigned;
    Int64 wait = r.spec.wait_between_waves.count(), cap = r.spec.max_in_progress,
          threshold = r.spec.failure_threshold_percent, retries = r.spec.max_retries,
          rollback = static_cast<Int64>(r.rollback_of), deadline = r.spec.machine_deadline.count();
    session_->begin();
    try {
      *session_ << (std::string("INSERT INTO rollouts(image_version, selector_all, "
                                "selector_machines, waves, wait_seconds, max_in_progress, "
                                "failure_threshold, max_retries, wave_ends, state, message, "
                                "created_at, rollback_of, machine_deadline, allow_unsigned) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ") +
                    dialect_.now + ", ?, ?, ?)"),
          use(image), use(all), use(machines), use(waves), use(wait), use(cap), use(threshold),
          use(retries), use(ends), use(state), use(message), use(rollback), use(deadline),
          use(unsigned_ok), now;
      Int64 id = 0;
      *session_ << dialect_.last_id, into(id), now;
      for (const auto& [key, value] : r.spec.selector.labels) {
        std::string k = key, v = value;
        *session_ << "INSERT INTO rollout_labels(rollout_id, key, value) VALUES (?, ?, ?)", use(id),
            use(k), use(v), now;
      }
      for (size_t position = 0; position < machine_ids.size(); ++position) {
        std::string machine = machine_ids[position];
        Int64 pos = static_cast<Int64>(position);
        *session_ << "INSERT INTO rollout_members(rollout_id, machine_id, position, state, "
                     "attempts, finished_at, previous_version, last_attempt_id) "
                     "VALUES (?, ?, ?, 'pending', 0, '', '', 0)",
            use(id), use(machine), use(pos), now;
      }
      session_->commit();
      return static_cast<uint64_t>(id);
    } catch (...) {
      session_->rollback();
      throw;
    }
  });
}

namespace {

std::vector<RolloutRecord> SelectRollouts(Poco::Data::Session& s, Int64 id_filter) {
  std::vector<Int64> id, wait, cap, threshold, retries, rollback, deadline, accepted;
  std::vector<std::string> image, machines, waves, ends, state, message, created;
  std::vector<int> all, unsigned_ok;
  Poco::Data::Statement st(s);
  st << (std::string("SELECT id, image_version, selector_all, selector_machines, waves, "
                     "wait_seconds, max_in_progress, failure_threshold, max_retries, wave_ends, "
                     "state, message, created_at, rollback_of, machine_deadline, allow_unsigned, "
                     "accepted_failures FROM rollouts") +
         (id_filter ? " WHERE id = ?" : "") + " ORDER BY id"),
      into(id), into(image), into(all), into(machines), into(waves), into(wait), into(cap),
      into(threshold), into(retries), into(ends), into(state), into(message), into(created),
      into(rollback), into(deadline), into(unsigned_ok), into(accepted);
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
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<std::optional<RolloutRecord>> FleetStore::FindRollout(uint64_t id) {
  std::lock_guard lock(mutex_);
  if (id == 0) return std::optional<RolloutRecord>{};
  return Guard("find a rollout", [&] {
    auto rows = SelectRollouts(*session_, static_cast<Int64>(id));
    return rows.empty() ? std::optional<RolloutRecord>{} : std::optional<RolloutRecord>{rows[0]};
  });
}

Result<std::vector<RolloutRecord>> FleetStore::ListRollouts() {
  std::lock_guard lock(mutex_);
  return Guard("list rollouts", [&] { return SelectRollouts(*session_, 0); });
}

Result<void> FleetStore::SetRolloutState(uint64_t id, RolloutState state,
                                         const std::string& message) {
  std::lock_guard lock(mutex_);
  return Guard("change a rollout", [&] {
    Int64 i = static_cast<Int64>(id);
    std::string s = RolloutStateName(state), m = message;
    *session_ << "UPDATE rollouts SET state = ?, message = ? WHERE id = ?", use(s), use(m), use(i),
        now;
  });
}

Result<void> FleetStore::AcceptFailures(uint64_t id, uint32_t failures) {
  std::lock_guard lock(mutex_);
  return Guard("change a rollout", [&] {
    Int64 i = static_cast<Int64>(id), n = failures;
    *session_ << "UPDATE rollouts SET accepted_failures = ? WHERE id = ?", use(n), use(i), now;
  });
}

Result<void> FleetStore::SkipMembers(uint64_t rollout_id, const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  return Guard("skip rollout members", [&] {
    Int64 rollout = static_cast<Int64>(rollout_id);
    session_->begin();
    try {
      for (const auto& machine_id : ids) {
        std::string m = machine_id;
        *session_ << "UPDATE rollout_members SET skipped = 1 WHERE rollout_id = ? AND "
                     "machine_id = ?",
            use(rollout), use(m), now;
      }
      session_->commit();
    } catch (...) {
      session_->rollback();
      throw;
    }
  });
}

Result<std::vector<MemberRecord>> FleetStore::Members(uint64_t rollout_id) {
  std::lock_guard lock(mutex_);
  return Guard("read rollout members", [&] {
    std::vector<std::string> machine, state, finished, previous, seen;
    std::vector<Int64> position, attempts, last;
    std::vector<int> skipped;
    Int64 id = static_cast<Int64>(rollout_id);
    *session_ << "SELECT x.machine_id, x.position, x.state, x.attempts, x.finished_at, "
                 "x.previous_version, x.last_attempt_id, x.skipped, m.last_seen "
                 "FROM rollout_members x JOIN machines m ON m.id = x.machine_id "
                 "WHERE x.rollout_id = ? ORDER BY x.position",
        into(machine), into(position), into(state), into(attempts), into(finished), into(previous),
        into(last), into(skipped), into(seen), use(id), now;
    std::vector<MemberRecord> out;
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
  });
}

Result<std::optional<uint64_t>> FleetStore::OpenRolloutOf(const std::string& machine_id) {
  std::lock_guard lock(mutex_);
  return Guard("find a machine's rollout", [&] {
    std::vector<Int64> ids;
    std::string m = machine_id;
    *session_ << "SELECT r.id FROM rollouts r JOIN rollout_members x ON x.rollout_id = r.id "
                 "WHERE x.machine_id = ? AND r.state IN ('active', 'paused', 'halted') "
                 "ORDER BY r.id DESC LIMIT 1",
        into(ids), use(m), now;
    return ids.empty() ? std::optional<uint64_t>{}
                       : std::optional<uint64_t>{static_cast<uint64_t>(ids[0])};
  });
}

// ---- attempts ----

Result<AttemptRecord> FleetStore::StartAttempt(uint64_t rollout_id, const std::string& machine_id,
                                               const std::string& image_version,
                                               const std::string& previous_version) {
  std::lock_guard lock(mutex_);
  return Guard("start an attempt", [&] {
    Int64 rollout = static_cast<Int64>(rollout_id);
    std::string machine = machine_id, version = image_version, previous = previous_version;
    session_->begin();
    try {
      *session_ << (std::string("INSERT INTO attempts(rollout_id, machine_id, image_version, "
                                "state, started_at, finished_at, error, max_sequence) "
                                "VALUES (?, ?, ?, 'assigned', ") +
                    dialect_.now + ", '', '', 0)"),
          use(rollout), use(machine), use(version), now;
      Int64 id = 0;
      *session_ << dialect_.last_id, into(id), now;
      // The previous version is the one before this rollout's first attempt on the machine.
      *session_ << "UPDATE rollout_members SET state = 'assigned', attempts = attempts + 1, "
                   "last_attempt_id = ?, previous_version = CASE WHEN attempts = 0 THEN ? ELSE "
                   "previous_version END WHERE rollout_id = ? AND machine_id = ?",
          use(id), use(previous), use(rollout), use(machine), now;
      std::string started;
      *session_ << "SELECT started_at FROM attempts WHERE id = ?", into(started), use(id), now;
      session_->commit();
      AttemptRecord a;
      a.id = static_cast<uint64_t>(id);
      a.rollout_id = rollout_id;
      a.machine_id = machine_id;
      a.image_version = image_version;
      a.state = "assigned";
      a.started_at = started;
      return a;
    } catch (...) {
      session_->rollback();
      throw;
    }
  });
}

namespace {

template <typename Param>
std::vector<AttemptRecord> SelectAttempts(Poco::Data::Session& s, const std::string& where,
                                          const Param& param) {
  std::vector<Int64> id, rollout;
  std::vector<std::string> machine, version, state, started, finished, error;
  Param p = param;
  s
      << ("SELECT id, rollout_id, machine_id, image_version, state, started_at, finished_at, error "
          "FROM attempts " +
          where + " ORDER BY id DESC"),
      into(id), into(rollout), into(machine), into(version), into(state), into(started),
      into(finished), into(error), use(p), now;
  std::vector<AttemptRecord> out;
  for (size_t k = 0; k < id.size(); ++k) {
    AttemptRecord a{static_cast<uint64_t>(id[k]),
                    static_cast<uint64_t>(rollout[k]),
                    machine[k],
                    version[k],
                    state[k],
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
      a.events.push_back({static_cast<uint64_t>(seq[e]), step[e], status[e],
                          static_cast<uint64_t>(done[e]), static_cast<uint64_t>(total[e]),
                          message[e], at[e]});
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<std::optional<AttemptRecord>> FleetStore::FindAttempt(uint64_t id) {
  std::lock_guard lock(mutex_);
  return Guard("find an attempt", [&] {
    auto rows = SelectAttempts(*session_, "WHERE id = ?", static_cast<Int64>(id));
    return rows.empty() ? std::optional<AttemptRecord>{} : std::optional<AttemptRecord>{rows[0]};
  });
}

Result<FleetStore::EventsResult> FleetStore::AddEvents(uint64_t attempt_id,
                                                       const std::vector<StepEvent>& events) {
  std::lock_guard lock(mutex_);
  return Guard("record step events", [&] {
    Int64 attempt = static_cast<Int64>(attempt_id);
    session_->begin();
    try {
      std::vector<Int64> max_sequence;
      std::vector<Int64> rollout;
      std::vector<std::string> machine, attempt_state;
      *session_ << "SELECT max_sequence, rollout_id, machine_id, state FROM attempts WHERE id = ?",
          into(max_sequence), into(rollout), into(machine), into(attempt_state), use(attempt), now;
      if (max_sequence.empty())
        throw Poco::NotFoundException("attempt " + std::to_string(attempt_id));
      Int64 highest = max_sequence[0];
      // A machine that reports is online, even while an apply keeps it from heartbeating.
      *session_ << (std::string("UPDATE machines SET last_seen = ") + dialect_.now +
                    " WHERE id = ?"),
          use(machine[0]), now;
      for (const auto& e : events) {
        if (static_cast<Int64>(e.sequence) <= highest) continue;  // already stored: a retry
        Int64 seq = static_cast<Int64>(e.sequence), done = static_cast<Int64>(e.bytes_done),
              total = static_cast<Int64>(e.bytes_total);
        std::string step = e.step, status = e.status, message = e.message, at = e.at;
        *session_ << "INSERT INTO step_events(attempt_id, sequence, step, status, bytes_done, "
                     "bytes_total, message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            use(attempt), use(seq), use(step), use(status), use(done), use(total), use(message),
            use(at), now;
        highest = seq;
        std::string state = e.status == "succeeded" && e.step == "done" ? "succeeded"
                            : e.status == "failed"                      ? "failed"
                                                                        : "running";
        std::string error = e.status == "failed" ? e.message : "";
        bool final_state = state != "running";
        *session_ << (std::string("UPDATE attempts SET state = ?, error = ?, finished_at = ") +
                      (final_state ? dialect_.now : "finished_at") + " WHERE id = ?"),
            use(state), use(error), use(attempt), now;
        *session_ << (std::string("UPDATE rollout_members SET state = ?, finished_at = ") +
                      (final_state ? dialect_.now : "finished_at") +
                      " WHERE rollout_id = ? AND machine_id = ? AND last_attempt_id = ?"),
            use(state), use(rollout[0]), use(machine[0]), use(attempt), now;
        attempt_state[0] = state;
        if (state == "succeeded") {
          // The machine now runs the attempt's version, before its next heartbeat says so.
          *session_ << "UPDATE machines SET installed_version = (SELECT image_version FROM "
                       "attempts WHERE id = ?) WHERE id = ?",
              use(attempt), use(machine[0]), now;
        }
      }
      *session_ << "UPDATE attempts SET max_sequence = ? WHERE id = ?", use(highest), use(attempt),
          now;
      session_->commit();
      return FleetStore::EventsResult{static_cast<uint64_t>(highest), attempt_state[0],
                                      static_cast<uint64_t>(rollout[0]), machine[0]};
    } catch (...) {
      session_->rollback();
      throw;
    }
  });
}

Result<std::vector<AttemptRecord>> FleetStore::Attempts(const std::string& machine_id) {
  std::lock_guard lock(mutex_);
  return Guard("read attempts",
               [&] { return SelectAttempts(*session_, "WHERE machine_id = ?", machine_id); });
}

Result<FleetSummary> FleetStore::Summary(const std::string& offline_before) {
  std::lock_guard lock(mutex_);
  return Guard("summarize the fleet", [&] {
    FleetSummary s;
    if (!offline_before.empty()) {
      int offline = 0;
      std::string cutoff = offline_before;
      // RFC 3339 in one format and zone: text order is time order.
      *session_ << "SELECT COUNT(*) FROM machines WHERE last_seen < ?", into(offline), use(cutoff),
          now;
      s.offline = static_cast<uint32_t>(offline);
    }
    std::vector<std::string> keys;
    std::vector<Int64> counts;
    *session_ << "SELECT state, COUNT(*) FROM machines GROUP BY state", into(keys), into(counts),
        now;
    for (size_t k = 0; k < keys.size(); ++k) {
      s.by_state[keys[k]] = static_cast<uint32_t>(counts[k]);
      s.machines += static_cast<uint32_t>(counts[k]);
    }
    keys.clear();
    counts.clear();
    *session_ << "SELECT installed_version, COUNT(*) FROM machines GROUP BY installed_version",
        into(keys), into(counts), now;
    for (size_t k = 0; k < keys.size(); ++k)
      s.by_version[keys[k]] = static_cast<uint32_t>(counts[k]);
    int active = 0;
    *session_ << "SELECT COUNT(*) FROM rollouts WHERE state IN ('active', 'paused', 'halted')",
        into(active), now;
    s.active_rollouts = static_cast<uint32_t>(active);
    return s;
  });
}

// ---- operators ----

Result<void> FleetStore::AddOperator(const OperatorRecord& op) {
  std::lock_guard lock(mutex_);
  auto existing = Guard("find an operator", [&] {
    int n = 0;
    std::string name = op.name;
    *session_ << "SELECT COUNT(*) FROM operators WHERE name = ?", into(n), use(name), now;
    return n;
  });
  if (!existing) return std::unexpected(existing.error());
  if (*existing > 0)
    return Fail(ErrorCode::kAlreadyExists, "name: operator " + op.name + " exists already");
  return Guard("add an operator", [&] {
    std::string name = op.name, role = RoleName(op.role), hash = op.token_sha256;
    *session_ << (std::string("INSERT INTO operators(name, role, token_sha256, created_at) "
                              "VALUES (?, ?, ?, ") +
                  dialect_.now + ")"),
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

Result<std::optional<OperatorRecord>> FleetStore::FindOperatorByToken(
    const std::string& token_sha256) {
  std::lock_guard lock(mutex_);
  return Guard("find an operator", [&] {
    auto rows = SelectOperators(*session_, "WHERE token_sha256 = ?", token_sha256);
    return rows.empty() ? std::optional<OperatorRecord>{} : std::optional<OperatorRecord>{rows[0]};
  });
}

Result<std::vector<OperatorRecord>> FleetStore::ListOperators() {
  std::lock_guard lock(mutex_);
  return Guard("list operators", [&] { return SelectOperators(*session_, "", ""); });
}

Result<void> FleetStore::RemoveOperator(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto removed = Guard("remove an operator", [&] {
    std::string n = name;
    Poco::Data::Statement st(*session_);
    st << "DELETE FROM operators WHERE name = ?", use(n);
    return st.execute();
  });
  if (!removed) return std::unexpected(removed.error());
  if (*removed == 0) return Fail(ErrorCode::kNotFound, "name: no operator " + name);
  return {};
}

// ---- audit ----

Result<void> FleetStore::AddAudit(const AuditRecord& e) {
  std::lock_guard lock(mutex_);
  return Guard("write the audit log", [&] {
    std::string who = e.who, action = e.action, target = e.target, outcome = e.outcome,
                detail = e.detail, peer = e.peer;
    *session_ << (std::string("INSERT INTO audit(at, who, action, target, outcome, detail, peer) "
                              "VALUES (") +
                  dialect_.now + ", ?, ?, ?, ?, ?, ?)"),
        use(who), use(action), use(target), use(outcome), use(detail), use(peer), now;
  });
}

Result<std::vector<AuditRecord>> FleetStore::AuditLog(uint32_t limit) {
  std::lock_guard lock(mutex_);
  return Guard("read the audit log", [&] {
    std::vector<Int64> id;
    std::vector<std::string> at, who, action, target, outcome, detail, peer;
    int n = static_cast<int>(limit);
    *session_ << "SELECT id, at, who, action, target, outcome, detail, peer FROM audit "
                 "ORDER BY id DESC LIMIT ?",
        into(id), into(at), into(who), into(action), into(target), into(outcome), into(detail),
        into(peer), use(n), now;
    std::vector<AuditRecord> out;
    for (size_t k = 0; k < id.size(); ++k)
      out.push_back({static_cast<uint64_t>(id[k]), at[k], who[k], action[k], target[k], outcome[k],
                     detail[k], peer[k]});
    return out;
  });
}

// ---- enrollment and revocation ----

Result<void> FleetStore::AddEnrollmentToken(const std::string& token_sha256,
                                            const std::string& labels, int64_t expires_at,
                                            const std::string& created_by) {
  std::lock_guard lock(mutex_);
  return Guard("add an enrollment token", [&] {
    std::string hash = token_sha256, l = labels, by = created_by;
    Int64 expires = expires_at;
    *session_ << "INSERT INTO enrollment_tokens(token_sha256, labels, expires_at, created_by) "
                 "VALUES (?, ?, ?, ?)",
        use(hash), use(l), use(expires), use(by), now;
  });
}

Result<std::string> FleetStore::UseEnrollmentToken(const std::string& token_sha256,
                                                   const std::string& machine_id, int64_t at) {
  std::lock_guard lock(mutex_);
  auto used = Guard("use an enrollment token", [&] {
    std::string hash = token_sha256, id = machine_id;
    Int64 when = at;
    Poco::Data::Statement update(*session_);
    update << (std::string("UPDATE enrollment_tokens SET used_by = ?, used_at = ") + dialect_.now +
               " WHERE token_sha256 = ? AND used_by = '' AND expires_at > ?"),
        use(id), use(hash), use(when);
    return update.execute();
  });
  if (!used) return std::unexpected(used.error());
  auto row = Guard("read an enrollment token", [&] {
    std::vector<std::string> labels, used_by, used_at;
    std::vector<Int64> expires;
    std::string hash = token_sha256;
    *session_ << "SELECT labels, used_by, used_at, expires_at FROM enrollment_tokens "
                 "WHERE token_sha256 = ?",
        into(labels), into(used_by), into(used_at), into(expires), use(hash), now;
    return std::make_tuple(labels, used_by, used_at, expires);
  });
  if (!row) return std::unexpected(row.error());
  const auto& [labels, used_by, used_at, expires] = *row;
  if (labels.empty()) return Fail(ErrorCode::kUnauthenticated, "token: no such enrollment token");
  if (*used == 0 && !used_by[0].empty())
    return Fail(ErrorCode::kUnauthenticated, "token: already used, by " + used_by[0] + " at " +
                                                 used_at[0] + "; enrollment tokens work once");
  if (*used == 0) return Fail(ErrorCode::kUnauthenticated, "token: expired");
  return labels[0];
}

Result<void> FleetStore::RevokeMachine(const std::string& machine_id, const std::string& by) {
  std::lock_guard lock(mutex_);
  return Guard("revoke a machine", [&] {
    std::string id = machine_id, who = by;
    // Plain SQL (no INSERT OR IGNORE), so that other dialects run it as it is.
    std::string again = machine_id;
    *session_ << (std::string("INSERT INTO revoked_machines(machine_id, revoked_by, revoked_at) "
                              "SELECT ?, ?, ") +
                  dialect_.now +
                  " WHERE NOT EXISTS (SELECT 1 FROM revoked_machines WHERE machine_id = ?)"),
        use(id), use(who), use(again), now;
  });
}

Result<std::vector<std::string>> FleetStore::RevokedMachines() {
  std::lock_guard lock(mutex_);
  return Guard("list revoked machines", [&] {
    std::vector<std::string> ids;
    *session_ << "SELECT machine_id FROM revoked_machines", into(ids), now;
    return ids;
  });
}

}  // namespace lifeboat::controller
