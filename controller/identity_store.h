// Machines known by their hardware (controller/machine_identity.h), in the controller's database
// (on FleetStore's connection, see controller/store_session.h): the identity of each accepted
// machine, the machines that network-booted and wait for an operator to accept them, and the
// operators' requests to service a machine at its next network boot, and the agent journal of each
// machine serviced from a RAM disk (which a power cut would lose). Thread-safe: calls are
// serialized on that one session.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/machine_identity.h"

namespace lifeboat::controller {

struct StoreSession;

// An operator's request that a machine's next network boot start a recovery image
// (controller/network_recovery.h). No version: none.
struct NetworkRecoveryRequest {
  std::string version;
  std::string requested_by;  // the operator, for the audit record of the boot
  std::string token;         // the boot's folder (controller/recovery_sessions.h)
  bool iso = false;  // the image's ISO over HTTP, through iPXE (BIOS), not its boot managers
  bool operator==(const NetworkRecoveryRequest&) const = default;
};

// The operator's site-wide network recovery entry (controller/site_entry.h): every accepted
// machine with nothing else to boot is offered this version in a menu that starts its local disk
// unless someone at the machine chooses the entry. No version: none is published.
struct SiteRecoveryEntry {
  std::string version;
  std::string published_by;
  std::string published_at;      // RFC 3339, UTC
  uint32_t timeout_seconds = 0;  // how long the menu waits before it starts the local disk
  bool operator==(const SiteRecoveryEntry&) const = default;
};

// An accepted machine's identity.
struct IdentityRecord {
  std::string machine_id;
  MachineIdentity identity;
  bool service_requested = false;  // boot the service environment at the next network boot
  NetworkRecoveryRequest recovery = {};
};

// A machine that network-booted and is not accepted: what it said about itself.
struct PendingRecord {
  std::string id;  // its SMBIOS UUID, or its first MAC address when it has no usable UUID
  MachineIdentity identity;
  std::string computer_name;  // Windows' name for it, read from its SYSTEM hive ("" unknown)
  std::string inventory;      // as the agent reported it (serialized, opaque here)
  std::string first_seen;
  std::string last_seen;
  uint32_t visits = 0;
  std::string peer;  // where it called from
};

// A machine to add (import, accept): made with this identity, name and labels, never seen yet.
struct NewMachine {
  std::string id;
  MachineIdentity identity;
  std::string name;
  std::map<std::string, std::string> labels;
};

// kNotFound: the machine has no hardware identity, so its network boot cannot be told apart.
[[nodiscard]] Error NoHardwareIdentity(const std::string& machine_id);

class IdentityStore {
 public:
  explicit IdentityStore(std::shared_ptr<StoreSession> session);
  ~IdentityStore();

  [[nodiscard]] Result<std::vector<IdentityRecord>> Identities();
  // Adds each machine, or for an id that exists already sets its identity, name and labels; and
  // drops pending entries with these ids. One transaction: all or nothing.
  [[nodiscard]] Result<void> AddMachines(const std::vector<NewMachine>& machines);
  // Records the identity of a machine that exists (kNotFound otherwise).
  [[nodiscard]] Result<void> SetIdentity(const std::string& machine_id,
                                         const MachineIdentity& identity);
  [[nodiscard]] Result<void> SetServiceRequested(const std::string& machine_id, bool requested);
  // Replaces the machine's network recovery request (an empty one ends it). kNotFound.
  [[nodiscard]] Result<void> SetRecoveryRequest(const std::string& machine_id,
                                                const NetworkRecoveryRequest& request);

  // The site-wide recovery entry (an empty version: none). Setting one replaces any; setting an
  // empty one withdraws it. The time of publication is the store's.
  [[nodiscard]] Result<SiteRecoveryEntry> SiteEntry();
  [[nodiscard]] Result<void> SetSiteEntry(const SiteRecoveryEntry& entry);

  // Pending machines, by id.
  [[nodiscard]] Result<void> SavePending(const PendingRecord& pending);
  [[nodiscard]] Result<std::vector<PendingRecord>> Pending();
  [[nodiscard]] Result<void> RemovePending(const std::string& id);

  // The agent journal kept for a machine: replaced whole, durable when the call returns
  // (kNotFound for an unknown machine).
  [[nodiscard]] Result<void> SaveJournal(const std::string& machine_id, const std::string& journal);
  [[nodiscard]] Result<std::optional<std::string>> LoadJournal(const std::string& machine_id);

 private:
  std::shared_ptr<StoreSession> s_;
};

}  // namespace lifeboat::controller
