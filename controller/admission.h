// Which machines the controller trusts, recognised by their hardware rather than by anything
// installed on them, after the device-authorization model of Mender: a machine that network-boots
// the service environment and is not known shows up as pending with its identity, and nothing it
// can do makes it trusted; an operator accepts it (`lifeboatctl machine accept`) or pre-authorizes
// identities in bulk (`lifeboatctl machine import FILE.csv`). An accepted machine that has work (an
// assignment of an open rollout, or an operator's request to service it) is given a client
// certificate for the service visit; every other machine is told to boot its local disk.
//
// Identities are cached in memory (every network boot asks); every change goes to the store first.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "controller/fleet.h"
#include "controller/identity_store.h"
#include "controller/machine_identity.h"

namespace lifeboat::controller {

// What a machine in the service environment is told when it says who it is.
struct VisitDecision {
  enum class Outcome { kPending, kNoWork, kService };
  Outcome outcome = Outcome::kPending;
  std::string machine_id;  // kNoWork, kService: the accepted machine it is
  std::map<std::string, std::string> labels;
  std::string message;  // for the machine's console
};

// What a machine's next network boot starts.
enum class NetbootChoice { kServiceEnvironment, kLocalDisk, kRecovery };

// One machine's boot decision, by what GRUB can read of it before anything runs.
struct NetbootEntry {
  std::string machine;  // the machine id, or "pending <id>"
  MachineIdentity identity;
  NetbootChoice choice = NetbootChoice::kLocalDisk;
  std::string recovery_token = {};  // kRecovery: the boot's folder (controller/recovery_sessions.h)
  bool pending = false;             // not accepted yet: offered nothing but its local disk
};

// At most this many machines wait as pending. Anyone on the boot network can say hello with made-up
// identities; past this, new ones are refused (the ones already pending still count their visits),
// so that the list an operator reads and the database stay bounded.
inline constexpr size_t kMaxPending = 10000;

// A journal holds the plans, steps and table and BCD backups of a machine's runs: tens of KiB.
// The bound keeps one under gRPC's message limit and a misbehaving agent from filling the store.
constexpr size_t kMaxJournalBytes = 4 << 20;

class Admission {
 public:
  // `changed` is called after anything that changes a machine's boot decision (the netboot tree
  // re-renders).
  Admission(
      IdentityStore& store, Fleet& fleet, std::function<void()> changed = [] {},
      size_t max_pending = kMaxPending);

  // Where a machine that starts to wait as pending is told (webhooks). Set before serving.
  void SetEventSink(FleetEventSink sink) { sink_ = std::move(sink); }

  // A machine in the service environment says who it is. Unknown: recorded as pending (again, if
  // it was), kPending. Errors: kDatabase; kRefused when kMaxPending machines wait already.
  [[nodiscard]] Result<VisitDecision> Hello(const MachineIdentity& identity,
                                            const std::string& computer_name,
                                            const std::string& inventory, const std::string& peer);

  // Pre-authorizes machines (all or nothing). kConflict when an identity in it belongs to another
  // machine already. Returns how many were new.
  [[nodiscard]] Result<size_t> Import(const std::vector<ImportRow>& rows);
  // Accepts a pending machine as `machine_id` (default: its Windows computer name in lower case
  // when that is free and a valid name, else its pending id), with `labels`. kNotFound,
  // kAlreadyExists (the id is another machine's), kInvalidArgument.
  [[nodiscard]] Result<std::string> Accept(const std::string& pending_id,
                                           const std::string& machine_id,
                                           const std::map<std::string, std::string>& labels);
  [[nodiscard]] Result<std::vector<PendingRecord>> Pending();
  // The machine boots the service environment at its next network boot (once), even without an
  // assignment. kNotFound (no such machine, or one without a hardware identity).
  [[nodiscard]] Result<void> RequestService(const std::string& machine_id);
  // Sets (or, empty, ends) the machine's network recovery request: while it is set, the machine's
  // network boot starts the recovery image from the request's folder, before any service visit.
  // kNotFound (no such machine, or one without a hardware identity).
  [[nodiscard]] Result<void> SetNetworkRecovery(const std::string& machine_id,
                                                const NetworkRecoveryRequest& request);
  // The operator's site-wide recovery entry (an empty version: none), and replacing or (empty)
  // withdrawing it; every machine's boot decision may change with it. Errors: kDatabase.
  [[nodiscard]] Result<SiteRecoveryEntry> SiteEntry();
  [[nodiscard]] Result<void> SetSiteEntry(const SiteRecoveryEntry& entry);
  // Records the identity a machine reported (the daemon mode's Register); kConflict when it is
  // another machine's.
  [[nodiscard]] Result<void> RecordIdentity(const std::string& machine_id,
                                            const MachineIdentity& identity);
  // Forgets the identity of a machine that was deleted (its rows went with it): it is unknown at
  // its next network boot.
  void Forget(const std::string& machine_id);
  // The identity recorded for a machine, if any.
  [[nodiscard]] Result<std::optional<IdentityRecord>> IdentityOf(const std::string& machine_id);

  // The agent journal of a machine serviced from a RAM disk, kept here between its visits.
  // kInvalidArgument for anything but an SQLite file of at most kMaxJournalBytes.
  [[nodiscard]] Result<void> SaveJournal(const std::string& machine_id, const std::string& journal);
  [[nodiscard]] Result<std::optional<std::string>> LoadJournal(const std::string& machine_id);

  // Every known and pending machine's next network boot, for the netboot tree.
  [[nodiscard]] Result<std::vector<NetbootEntry>> NetbootEntries();

 private:
  [[nodiscard]] Result<void> Load();  // with mutex_ held
  // The accepted machine this identity is, if any (mutex_ held).
  std::optional<std::string> Find(const MachineIdentity& identity) const;
  // kConflict when `identity` matches a machine other than `machine_id` (mutex_ held).
  [[nodiscard]] Result<void> CheckFree(const MachineIdentity& identity,
                                       const std::string& machine_id,
                                       const std::string& where) const;

  IdentityStore& store_;
  Fleet& fleet_;
  std::function<void()> changed_;
  FleetEventSink sink_;
  size_t max_pending_;
  std::mutex mutex_;
  bool loaded_ = false;
  std::map<std::string, IdentityRecord> known_;   // by machine id
  std::map<std::string, PendingRecord> pending_;  // by pending id
};

// A pending machine's id: its SMBIOS UUID, or its first MAC address when it has no usable UUID.
std::string PendingId(const MachineIdentity& identity);

}  // namespace lifeboat::controller
