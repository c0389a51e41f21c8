#include "controller/identity_store.h"

#include <Poco/Data/LOB.h>
#include <Poco/Exception.h>

#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;

IdentityStore::IdentityStore(std::shared_ptr<StoreSession> session) : s_(std::move(session)) {}
IdentityStore::~IdentityStore() = default;

Error NoHardwareIdentity(const std::string& machine_id) {
  return {ErrorCode::kNotFound,
          "machine_id: machine " + machine_id +
              " has no hardware identity (import it, or accept it when it network-boots)"};
}

Result<std::vector<IdentityRecord>> IdentityStore::Identities() {
  std::lock_guard lock(s_->mutex);
  return Guard("read machine identities", [&] {
    std::vector<std::string> id, uuid, macs, serials, version, by, token;
    std::vector<int> service, iso;
    *s_->session << "SELECT machine_id, smbios_uuid, macs, disk_serials, service_requested, "
                    "recovery_version, recovery_requested_by, recovery_token, recovery_iso "
                    "FROM machine_identities ORDER BY machine_id",
        into(id), into(uuid), into(macs), into(serials), into(service), into(version), into(by),
        into(token), into(iso), now;
    std::vector<IdentityRecord> out;
    for (size_t k = 0; k < id.size(); ++k)
      out.push_back({id[k],
                     {uuid[k], SplitWords(macs[k]), SplitWords(serials[k])},
                     service[k] != 0,
                     {version[k], by[k], token[k], iso[k] != 0}});
    return out;
  });
}

namespace {

void UpsertIdentity(Poco::Data::Session& s, const std::string& machine_id,
                    const MachineIdentity& identity) {
  std::string id = machine_id, uuid = identity.smbios_uuid, macs = JoinWords(identity.macs),
              serials = JoinWords(identity.disk_serials);
  s << "INSERT INTO machine_identities(machine_id, smbios_uuid, macs, disk_serials) "
       "VALUES (?, ?, ?, ?) ON CONFLICT(machine_id) DO UPDATE SET smbios_uuid = "
       "excluded.smbios_uuid, "
       "macs = excluded.macs, disk_serials = excluded.disk_serials",
      use(id), use(uuid), use(macs), use(serials), now;
}

}  // namespace

Result<void> IdentityStore::AddMachines(const std::vector<NewMachine>& machines) {
  std::lock_guard lock(s_->mutex);
  return Guard("add machines", [&] {
    s_->session->begin();
    try {
      for (const auto& m : machines) {
        std::string id = m.id, name = m.name, idle = "idle", blank;
        int n = 0;
        *s_->session << "SELECT COUNT(*) FROM machines WHERE id = ?", into(n), use(id), now;
        if (n == 0) {
          // Never seen: last_seen stays empty (offline until its first visit).
          *s_->session << (std::string("INSERT INTO machines(id, hostname, inventory, "
                                       "installed_version, state, current_step, last_seen, "
                                       "registered_at) VALUES (?, ?, '', '', ?, '', '', ") +
                           s_->dialect.now + ")"),
              use(id), use(name), use(idle), now;
        } else if (!name.empty()) {
          *s_->session << "UPDATE machines SET hostname = ? WHERE id = ?", use(name), use(id), now;
        }
        // The file's labels are the operator's word now: earlier changes made one by one go.
        *s_->session << "DELETE FROM machine_label_changes WHERE machine_id = ?", use(id), now;
        *s_->session << "DELETE FROM machine_labels WHERE machine_id = ?", use(id), now;
        for (const auto& [key, value] : m.labels) {
          std::string k = key, v = value;
          *s_->session << "INSERT INTO machine_labels(machine_id, key, value) VALUES (?, ?, ?)",
              use(id), use(k), use(v), now;
        }
        UpsertIdentity(*s_->session, m.id, m.identity);
        std::string uuid = m.identity.smbios_uuid,
                    mac = m.identity.macs.empty() ? "" : m.identity.macs.front();
        *s_->session << "DELETE FROM pending_machines WHERE id = ? OR id = ?", use(uuid), use(mac),
            now;
      }
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

Result<void> IdentityStore::SetIdentity(const std::string& machine_id,
                                        const MachineIdentity& identity) {
  std::lock_guard lock(s_->mutex);
  auto known =
      AnyRow(*s_, "find a machine", "SELECT COUNT(*) FROM machines WHERE id = ?", machine_id);
  LIFEBOAT_TRY(known);
  if (!*known) return Fail(ErrorCode::kNotFound, "machine_id: no machine " + machine_id);
  return Guard("record a machine's identity",
               [&] { UpsertIdentity(*s_->session, machine_id, identity); });
}

Result<void> IdentityStore::SetRecoveryRequest(const std::string& machine_id,
                                               const NetworkRecoveryRequest& request) {
  std::lock_guard lock(s_->mutex);
  auto changed = Guard("record a network recovery request", [&] {
    std::string id = machine_id, version = request.version, by = request.requested_by,
                token = request.token;
    int iso = request.iso ? 1 : 0;
    Poco::Data::Statement st(*s_->session);
    st << "UPDATE machine_identities SET recovery_version = ?, recovery_requested_by = ?, "
          "recovery_token = ?, recovery_iso = ? WHERE machine_id = ?",
        use(version), use(by), use(token), use(iso), use(id);
    return st.execute();
  });
  LIFEBOAT_TRY(changed);
  if (*changed == 0) return std::unexpected(NoHardwareIdentity(machine_id));
  return {};
}

Result<SiteRecoveryEntry> IdentityStore::SiteEntry() {
  std::lock_guard lock(s_->mutex);
  return Guard("read the site-wide recovery entry", [&] {
    std::vector<std::string> version, by, at;
    std::vector<int> timeout;
    *s_->session << "SELECT version, published_by, published_at, timeout_seconds "
                    "FROM site_recovery_entry",
        into(version), into(by), into(at), into(timeout), now;
    if (version.empty()) return SiteRecoveryEntry{};
    return SiteRecoveryEntry{version[0], by[0], at[0], static_cast<uint32_t>(timeout[0])};
  });
}

Result<void> IdentityStore::SetSiteEntry(const SiteRecoveryEntry& entry) {
  std::lock_guard lock(s_->mutex);
  return Guard("record the site-wide recovery entry", [&] {
    if (entry.version.empty()) {
      *s_->session << "DELETE FROM site_recovery_entry", now;
      return;
    }
    std::string version = entry.version, by = entry.published_by;
    int timeout = static_cast<int>(entry.timeout_seconds);
    *s_->session << "INSERT INTO site_recovery_entry(id, version, published_by, published_at, "
                    "timeout_seconds) VALUES (1, ?, ?, " +
                        std::string(s_->dialect.now) +
                        ", ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, "
                        "published_by = excluded.published_by, published_at = "
                        "excluded.published_at, timeout_seconds = excluded.timeout_seconds",
        use(version), use(by), use(timeout), now;
  });
}

Result<void> IdentityStore::SetServiceRequested(const std::string& machine_id, bool requested) {
  std::lock_guard lock(s_->mutex);
  auto changed = Guard("record a service request", [&] {
    std::string id = machine_id;
    int value = requested;
    Poco::Data::Statement st(*s_->session);
    st << "UPDATE machine_identities SET service_requested = ? WHERE machine_id = ?", use(value),
        use(id);
    return st.execute();
  });
  LIFEBOAT_TRY(changed);
  if (*changed == 0) return std::unexpected(NoHardwareIdentity(machine_id));
  return {};
}

Result<void> IdentityStore::SavePending(const PendingRecord& p) {
  std::lock_guard lock(s_->mutex);
  return Guard("record a pending machine", [&] {
    std::string id = p.id, uuid = p.identity.smbios_uuid, macs = JoinWords(p.identity.macs),
                serials = JoinWords(p.identity.disk_serials), name = p.computer_name,
                inventory = p.inventory, peer = p.peer;
    *s_->session << (std::string("INSERT INTO pending_machines(id, smbios_uuid, macs, "
                                 "disk_serials, computer_name, inventory, first_seen, last_seen, "
                                 "visits, peer) VALUES (?, ?, ?, ?, ?, ?, ") +
                     s_->dialect.now + ", " + s_->dialect.now +
                     ", 1, ?) ON CONFLICT(id) DO UPDATE SET smbios_uuid = excluded.smbios_uuid, "
                     "macs = excluded.macs, disk_serials = excluded.disk_serials, "
                     "computer_name = excluded.computer_name, inventory = excluded.inventory, "
                     "last_seen = excluded.last_seen, visits = visits + 1, peer = excluded.peer"),
        use(id), use(uuid), use(macs), use(serials), use(name), use(inventory), use(peer), now;
  });
}

Result<std::vector<PendingRecord>> IdentityStore::Pending() {
  std::lock_guard lock(s_->mutex);
  return Guard("list pending machines", [&] {
    std::vector<std::string> id, uuid, macs, serials, name, inventory, first, last, peer;
    std::vector<int> visits;
    *s_->session
        << "SELECT id, smbios_uuid, macs, disk_serials, computer_name, inventory, "
           "first_seen, last_seen, visits, peer FROM pending_machines ORDER BY first_seen, id",
        into(id), into(uuid), into(macs), into(serials), into(name), into(inventory), into(first),
        into(last), into(visits), into(peer), now;
    std::vector<PendingRecord> out;
    for (size_t k = 0; k < id.size(); ++k)
      out.push_back({id[k],
                     {uuid[k], SplitWords(macs[k]), SplitWords(serials[k])},
                     name[k],
                     inventory[k],
                     first[k],
                     last[k],
                     static_cast<uint32_t>(visits[k]),
                     peer[k]});
    return out;
  });
}

Result<void> IdentityStore::RemovePending(const std::string& id) {
  std::lock_guard lock(s_->mutex);
  return Guard("remove a pending machine", [&] {
    std::string key = id;
    *s_->session << "DELETE FROM pending_machines WHERE id = ?", use(key), now;
  });
}

Result<void> IdentityStore::SaveJournal(const std::string& machine_id, const std::string& journal) {
  std::lock_guard lock(s_->mutex);
  LIFEBOAT_TRY(RequireMachine(*s_, machine_id));
  return Guard("save an agent journal", [&] {
    std::string id = machine_id;
    Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(journal.data()), journal.size());
    *s_->session << (std::string("INSERT INTO agent_journals(machine_id, journal, saved_at) "
                                 "VALUES (?, ?, ") +
                     s_->dialect.now +
                     ") ON CONFLICT(machine_id) DO UPDATE SET journal = excluded.journal, "
                     "saved_at = excluded.saved_at"),
        use(id), use(blob), now;
  });
}

Result<std::optional<std::string>> IdentityStore::LoadJournal(const std::string& machine_id) {
  std::lock_guard lock(s_->mutex);
  return Guard("read an agent journal", [&]() -> std::optional<std::string> {
    std::string id = machine_id;
    std::vector<Poco::Data::BLOB> blobs;
    *s_->session << "SELECT journal FROM agent_journals WHERE machine_id = ?", into(blobs), use(id),
        now;
    if (blobs.empty()) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(blobs.front().rawContent()),
                       blobs.front().size());
  });
}

}  // namespace lifeboat::controller
