#include "controller/fleet_store.h"

#include <Poco/Exception.h>

#include <deque>
#include <sstream>
#include <tuple>
#include <variant>

#include "common/sha256.h"
#include "common/sqlite_file.h"
#include "controller/access_store.h"
#include "controller/group_commit.h"
#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

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

FleetStore::FleetStore(std::shared_ptr<StoreSession> session)
    : s_(std::move(session)),
      group_(std::make_unique<GroupCommit>(*s_)),
      access_(std::make_unique<AccessStore>(s_)),
      identities_(std::make_unique<IdentityStore>(s_)),
      webhooks_(std::make_unique<WebhookStore>(s_)) {}
FleetStore::~FleetStore() = default;

Result<std::unique_ptr<FleetStore>> FleetStore::OpenSqlite(const std::string& path) {
  try {
    auto session = std::make_shared<StoreSession>(
        OpenSqliteFile(path, FleetMigrations(kSqliteDialect)), kSqliteDialect, path);
    return std::unique_ptr<FleetStore>(new FleetStore(std::move(session)));
  } catch (const DamagedSqliteFile& e) {
    return Fail(ErrorCode::kCorrupt, Damaged(path, e.message()));
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kDatabase, "fleet store " + path + ": open: " + e.displayText());
  }
}

Result<void> FleetStore::CheckIntegrity() {
  try {
    if (const std::string check = QuickCheckSqliteFile(s_->path); check != "ok")
      return Fail(ErrorCode::kCorrupt, Damaged(s_->path, "SQLite's quick_check found: " + check));
    return {};
  } catch (const DamagedSqliteFile& e) {
    return Fail(ErrorCode::kCorrupt, Damaged(s_->path, e.message()));
  }
}

// ---- images ----

Result<void> FleetStore::AddImage(const ImageRecord& i) {
  std::lock_guard lock(s_->mutex);
  auto taken =
      AnyRow(*s_, "find an image", "SELECT COUNT(*) FROM images WHERE version = ?", i.version);
  LIFEBOAT_TRY(taken);
  if (*taken)
    return Fail(ErrorCode::kAlreadyExists, "version " + i.version + " is already published");
  return Guard("add an image", [&] {
    std::string version = i.version, sha = i.sha256, name = i.name, desc = i.description,
                arch = i.architecture, blob = i.blob_path, manifest = i.signature.manifest,
                signature = ToHex({reinterpret_cast<const uint8_t*>(i.signature.signature.data()),
                                   i.signature.signature.size()}),
                key_id = i.signature.key_id, expires = i.expires, contents = i.contents_sha256,
                build_manifest = i.build_manifest;
    Int64 size = static_cast<Int64>(i.size), files = static_cast<Int64>(i.file_count);
    int boot = static_cast<int>(i.boot_index), efi = i.has_winload_efi, exe = i.has_winload_exe,
        sdi = i.has_boot_sdi;
    *s_->session << (std::string("INSERT INTO images(version, sha256, size, name, description, "
                                 "architecture, boot_index, file_count, has_winload_efi, "
                                 "has_winload_exe, has_boot_sdi, blob_path, signed_manifest, "
                                 "signature, signing_key_id, expires, contents_sha256, "
                                 "build_manifest, published_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ") +
                     s_->dialect.now + ")"),
        use(version), use(sha), use(size), use(name), use(desc), use(arch), use(boot), use(files),
        use(efi), use(exe), use(sdi), use(blob), use(manifest), use(signature), use(key_id),
        use(expires), use(contents), use(build_manifest), now;
  });
}

namespace {

const char* kImageColumns =
    "version, sha256, size, name, description, architecture, boot_index, file_count, "
    "has_winload_efi, has_winload_exe, has_boot_sdi, blob_path, published_at, retired, "
    "signed_manifest, signature, signing_key_id, expires, contents_sha256, build_manifest";

// Reads rows of kImageColumns.
std::vector<ImageRecord> SelectImages(Poco::Data::Session& s, const std::string& where,
                                      const std::string& param, bool with_param) {
  std::vector<std::string> version, sha, name, desc, arch, blob, published, manifest, signature,
      key_id, expires, contents, build_manifest;
  std::vector<Int64> size, files;
  std::vector<int> boot, efi, exe, sdi, retired;
  std::string p = param;
  Poco::Data::Statement st(s);
  st << (std::string("SELECT ") + kImageColumns + " FROM images " + where +
         " ORDER BY published_at, version"),
      into(version), into(sha), into(size), into(name), into(desc), into(arch), into(boot),
      into(files), into(efi), into(exe), into(sdi), into(blob), into(published), into(retired),
      into(manifest), into(signature), into(key_id), into(expires), into(contents),
      into(build_manifest);
  if (with_param) st, use(p);
  st.execute();
  std::vector<ImageRecord> out;
  for (size_t k = 0; k < version.size(); ++k) {
    ImageRecord image;
    image.version = version[k];
    image.sha256 = sha[k];
    image.size = static_cast<uint64_t>(size[k]);
    image.name = name[k];
    image.description = desc[k];
    image.architecture = arch[k];
    image.expires = expires[k];
    image.contents_sha256 = contents[k];
    image.boot_index = static_cast<uint32_t>(boot[k]);
    image.file_count = static_cast<uint64_t>(files[k]);
    image.has_winload_efi = efi[k] != 0;
    image.has_winload_exe = exe[k] != 0;
    image.has_boot_sdi = sdi[k] != 0;
    image.blob_path = blob[k];
    image.published_at = published[k];
    image.retired = retired[k] != 0;
    image.signature = {manifest[k], FromHex(signature[k]).value_or(""), key_id[k]};
    image.build_manifest = build_manifest[k];
    out.push_back(std::move(image));
  }
  return out;
}

}  // namespace

Result<std::optional<ImageRecord>> FleetStore::FindImage(const std::string& version) {
  std::lock_guard lock(s_->mutex);
  return Guard("find an image", [&] {
    auto rows = SelectImages(*s_->session, "WHERE version = ?", version, true);
    return rows.empty() ? std::optional<ImageRecord>{} : std::optional<ImageRecord>{rows[0]};
  });
}

Result<std::optional<ImageRecord>> FleetStore::FindImageBySha(const std::string& sha256) {
  std::lock_guard lock(s_->mutex);
  return Guard("find an image", [&] {
    auto rows = SelectImages(*s_->session, "WHERE sha256 = ?", sha256, true);
    return rows.empty() ? std::optional<ImageRecord>{} : std::optional<ImageRecord>{rows[0]};
  });
}

Result<std::vector<ImageRecord>> FleetStore::ListImages(bool include_retired) {
  std::lock_guard lock(s_->mutex);
  return Guard("list images", [&] {
    return SelectImages(*s_->session, include_retired ? "" : "WHERE retired = 0", "", false);
  });
}

Result<ImageRecord> FleetStore::RetireImage(const std::string& version) {
  std::unique_lock lock(s_->mutex);
  auto found = Guard("retire an image", [&] {
    auto rows = SelectImages(*s_->session, "WHERE version = ?", version, true);
    int users = 0;
    std::string v = version;
    *s_->session << "SELECT COUNT(*) FROM rollouts WHERE image_version = ? AND state IN "
                    "('active', 'paused', 'halted')",
        into(users), use(v), now;
    return std::make_pair(rows, users);
  });
  LIFEBOAT_TRY(found);
  if (found->first.empty()) return Fail(ErrorCode::kNotFound, "no image version " + version);
  if (found->second > 0) {
    return Fail(ErrorCode::kConflict, "image " + version + " is used by " +
                                          std::to_string(found->second) +
                                          " rollout(s) that have not finished; abort them first");
  }
  auto done = Guard("retire an image", [&] {
    std::string v = version;
    *s_->session << "UPDATE images SET retired = 1 WHERE version = ?", use(v), now;
  });
  LIFEBOAT_TRY(done);
  ImageRecord image = found->first[0];
  image.retired = true;
  return image;
}

// ---- machines ----

namespace {

// An operator's label changes (machine_label_changes) over the labels the agent reported.
void ApplyLabelChanges(Poco::Data::Session& s, const std::string& machine_id) {
  std::string a = machine_id, b = machine_id, c = machine_id;
  s << "DELETE FROM machine_labels WHERE machine_id = ? AND key IN "
       "(SELECT key FROM machine_label_changes WHERE machine_id = ?)",
      use(a), use(b), now;
  s << "INSERT INTO machine_labels(machine_id, key, value) SELECT machine_id, key, value "
       "FROM machine_label_changes WHERE machine_id = ? AND removed = 0",
      use(c), now;
}

}  // namespace

Result<void> FleetStore::RegisterMachine(const MachineRecord& m) {
  std::lock_guard lock(s_->mutex);
  return Guard("register a machine", [&] {
    std::string id = m.id, host = m.hostname, inventory = m.inventory,
                installed = m.installed_version, state = AgentStateName(m.state),
                step = m.current_step;
    s_->session->begin();
    int n = 0;
    *s_->session << "SELECT COUNT(*) FROM machines WHERE id = ?", into(n), use(id), now;
    if (n == 0) {
      *s_->session << (std::string(
                           "INSERT INTO machines(id, hostname, inventory, installed_version, "
                           "state, current_step, last_seen, registered_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, ") +
                       s_->dialect.now + ", " + s_->dialect.now + ")"),
          use(id), use(host), use(inventory), use(installed), use(state), use(step), now;
    } else {
      *s_->session << (std::string("UPDATE machines SET hostname = ?, inventory = ?, "
                                   "installed_version = ?, last_seen = ") +
                       s_->dialect.now + " WHERE id = ?"),
          use(host), use(inventory), use(installed), use(id), now;
    }
    *s_->session << "DELETE FROM machine_labels WHERE machine_id = ?", use(id), now;
    for (const auto& [key, value] : m.labels) {
      std::string k = key, v = value;
      *s_->session << "INSERT INTO machine_labels(machine_id, key, value) VALUES (?, ?, ?)",
          use(id), use(k), use(v), now;
    }
    ApplyLabelChanges(*s_->session, id);
    s_->session->commit();
  });
}

Result<void> FleetStore::ChangeLabels(const std::string& machine_id,
                                      const std::map<std::string, std::string>& set,
                                      const std::vector<std::string>& remove) {
  std::lock_guard lock(s_->mutex);
  LIFEBOAT_TRY(RequireMachine(*s_, machine_id));
  return Guard("change a machine's labels", [&] {
    s_->session->begin();
    try {
      auto record = [&](const std::string& key, const std::string& value, int removed) {
        std::string id = machine_id, k = key, v = value;
        *s_->session << "INSERT INTO machine_label_changes(machine_id, key, value, removed) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(machine_id, key) DO UPDATE SET "
                        "value = excluded.value, removed = excluded.removed",
            use(id), use(k), use(v), use(removed), now;
      };
      for (const auto& [key, value] : set) record(key, value, 0);
      for (const auto& key : remove) record(key, "", 1);
      ApplyLabelChanges(*s_->session, machine_id);
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<uint64_t> FleetStore::DeleteMachine(const std::string& machine_id) {
  std::lock_guard lock(s_->mutex);
  LIFEBOAT_TRY(RequireMachine(*s_, machine_id));
  return Guard("delete a machine", [&] {
    s_->session->begin();
    try {
      std::string id = machine_id;
      Poco::Int64 attempts = 0;
      *s_->session << "SELECT COUNT(*) FROM attempts WHERE machine_id = ?", into(attempts), use(id),
          now;
      *s_->session << "DELETE FROM step_events WHERE attempt_id IN "
                      "(SELECT id FROM attempts WHERE machine_id = ?)",
          use(id), now;
      for (const char* table : {"attempts", "rollout_members", "machine_labels",
                                "machine_label_changes", "machine_identities", "agent_journals"}) {
        *s_->session << (std::string("DELETE FROM ") + table + " WHERE machine_id = ?"), use(id),
            now;
      }
      *s_->session << "DELETE FROM machines WHERE id = ?", use(id), now;
      s_->session->commit();
      return static_cast<uint64_t>(attempts);
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<void> FleetStore::RecordHeartbeats(const std::vector<Heartbeat>& heartbeats) {
  if (heartbeats.empty()) return {};
  // In the transaction of the assignments and reports of the moment (group_commit.h): one fsync
  // for all of them.
  return group_->Run("record heartbeats", [&] {
    // One statement for the whole batch, its columns bound as vectors: Poco runs it once per
    // row, prepared once (a statement per heartbeat was parsed and planned every time).
    std::vector<std::string> ids, inventories, versions, states, steps;
    for (const auto& h : heartbeats) {
      ids.push_back(h.id);
      inventories.push_back(h.inventory);
      versions.push_back(h.installed_version);
      states.push_back(AgentStateName(h.state));
      steps.push_back(h.current_step);
    }
    *s_->session << (std::string("UPDATE machines SET "
                                 "inventory = CASE WHEN ? = '' THEN inventory ELSE ? END, "
                                 "installed_version = CASE WHEN ? = '' THEN installed_version "
                                 "ELSE ? END, state = ?, current_step = ?, last_seen = ") +
                     s_->dialect.now + " WHERE id = ?"),
        use(inventories), use(inventories), use(versions), use(versions), use(states), use(steps),
        use(ids), now;
  });
}

Result<void> FleetStore::SetBootRecovery(const std::string& id, bool pending) {
  std::lock_guard lock(s_->mutex);
  auto updated = Guard("record a boot-recovery request", [&] {
    std::string i = id;
    int flag = pending;
    Poco::Data::Statement update(*s_->session);
    update << "UPDATE machines SET boot_recovery = ? WHERE id = ?", use(flag), use(i);
    return update.execute();
  });
  LIFEBOAT_TRY(updated);
  if (*updated == 0) return Fail(ErrorCode::kNotFound, "machine_id: no machine " + id);
  return {};
}

Result<std::vector<std::string>> FleetStore::MachineIds() {
  std::lock_guard lock(s_->mutex);
  return Guard("list machine ids", [&] {
    std::vector<std::string> ids;
    *s_->session << "SELECT id FROM machines", into(ids), now;
    return ids;
  });
}

namespace {

// A WHERE clause and the values of its `?`s, in order (kept at stable addresses: Poco binds them
// by reference).
struct Where {
  std::string sql;
  std::deque<std::string> texts;
  std::deque<Int64> numbers;
  std::vector<std::variant<std::string*, Int64*>> order;
  void Add(const std::string& condition) { sql += (sql.empty() ? " WHERE " : " AND ") + condition; }
  void Text(const std::string& condition, const std::vector<std::string>& values) {
    Add(condition);
    for (const auto& value : values) {
      texts.push_back(value);
      order.emplace_back(&texts.back());
    }
  }
  void Number(const std::string& condition, Int64 value) {
    Add(condition);
    numbers.push_back(value);
    order.emplace_back(&numbers.back());
  }
  void Bind(Poco::Data::Statement& st) {
    for (auto& v : order) std::visit([&](auto* value) { st, use(*value); }, v);
  }
};

// Machines by id, with their labels. `where` picks them (with `limit`, at most that many).
std::vector<MachineRecord> SelectMachines(Poco::Data::Session& s, Where& where,
                                          uint32_t limit = 0) {
  std::vector<std::string> id, host, inventory, installed, state, step, seen, registered;
  std::vector<int> boot;
  Poco::Data::Statement st(s);
  st
      << ("SELECT id, hostname, inventory, installed_version, state, current_step, last_seen, "
          "registered_at, boot_recovery FROM machines" +
          where.sql + " ORDER BY id" + (limit ? " LIMIT " + std::to_string(limit) : "")),
      into(id), into(host), into(inventory), into(installed), into(state), into(step), into(seen),
      into(registered), into(boot);
  where.Bind(st);
  st.execute();
  // The labels of these machines only: between the first id and the last.
  std::vector<std::string> label_machine, keys, values;
  if (!id.empty()) {
    std::string first = id.front(), last = id.back();
    s << "SELECT machine_id, key, value FROM machine_labels WHERE machine_id >= ? AND "
         "machine_id <= ?",
        into(label_machine), into(keys), into(values), use(first), use(last), now;
  }
  std::map<std::string, std::map<std::string, std::string>> labels;
  for (size_t k = 0; k < label_machine.size(); ++k) labels[label_machine[k]][keys[k]] = values[k];
  std::vector<MachineRecord> out;
  for (size_t k = 0; k < id.size(); ++k) {
    const auto machine_state = ParseAgentState(state[k]);  // the store's word, read once here
    if (!machine_state)
      throw Poco::DataFormatException("machine " + id[k] + " has the state '" + state[k] + "'");
    out.push_back({id[k], host[k], labels[id[k]], inventory[k], installed[k], *machine_state,
                   step[k], seen[k], registered[k], boot[k] != 0});
  }
  return out;
}

}  // namespace

Result<std::optional<MachineRecord>> FleetStore::FindMachine(const std::string& id) {
  std::lock_guard lock(s_->mutex);
  if (id.empty()) return std::optional<MachineRecord>{};
  return Guard("find a machine", [&] {
    Where where;
    where.Text("id = ?", {id});
    auto rows = SelectMachines(*s_->session, where);
    return rows.empty() ? std::optional<MachineRecord>{} : std::optional<MachineRecord>{rows[0]};
  });
}

Result<std::vector<MachineRecord>> FleetStore::ListMachines(
    const std::map<std::string, std::string>& labels) {
  std::lock_guard lock(s_->mutex);
  return Guard("list machines", [&] {
    Where all;
    auto rows = SelectMachines(*s_->session, all);
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

Result<std::vector<std::string>> FleetStore::LastSeenTimes() {
  std::lock_guard lock(s_->mutex);
  return Guard("read when machines were last seen", [&] {
    std::vector<std::string> seen;
    *s_->session << "SELECT last_seen FROM machines", into(seen), now;
    return seen;
  });
}

Result<MachinePage> FleetStore::FindMachines(const MachineFilter& filter,
                                             const std::string& offline_before,
                                             const std::string& after_id, uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("list machines", [&] {
    Where where;
    for (const auto& [key, value] : filter.labels) {
      where.Text(
          "EXISTS (SELECT 1 FROM machine_labels l WHERE l.machine_id = machines.id AND "
          "l.key = ? AND l.value = ?)",
          {key, value});
    }
    if (filter.installed_version) where.Text("installed_version = ?", {*filter.installed_version});
    if (filter.state) where.Text("state = ?", {AgentStateName(*filter.state)});
    // RFC 3339 in one format and zone: text order is time order.
    if (filter.offline)
      where.Text(*filter.offline ? "last_seen < ?" : "last_seen >= ?", {offline_before});
    if (filter.winre_free_below_bytes)
      where.Number(std::string(s_->dialect.winre_free_bytes) + " < ?",
                   static_cast<Int64>(*filter.winre_free_below_bytes));
    MachinePage page;
    {
      int total = 0;
      Poco::Data::Statement count(*s_->session);
      count << "SELECT COUNT(*) FROM machines" + where.sql, into(total);
      where.Bind(count);
      count.execute();
      page.total = static_cast<uint32_t>(total);
    }
    if (!after_id.empty()) where.Text("id > ?", {after_id});
    page.machines = SelectMachines(*s_->session, where, limit ? limit + 1 : 0);
    if (limit && page.machines.size() > limit) {
      page.machines.resize(limit);
      page.more = true;
    }
    return page;
  });
}

}  // namespace lifeboat::controller
