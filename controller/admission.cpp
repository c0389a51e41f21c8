#include "controller/admission.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/version.h"

namespace lifeboat::controller {

std::string PendingId(const MachineIdentity& identity) {
  if (!identity.smbios_uuid.empty()) return identity.smbios_uuid;
  return identity.macs.empty() ? "" : identity.macs.front();
}

Admission::Admission(IdentityStore& store, Fleet& fleet, std::function<void()> changed,
                     size_t max_pending)
    : store_(store), fleet_(fleet), changed_(std::move(changed)), max_pending_(max_pending) {}

Result<void> Admission::Load() {
  if (loaded_) return {};
  auto identities = store_.Identities();
  LIFEBOAT_TRY(identities);
  auto pending = store_.Pending();
  LIFEBOAT_TRY(pending);
  known_.clear();
  pending_.clear();
  for (auto& r : *identities) known_[r.machine_id] = std::move(r);
  for (auto& p : *pending) pending_[p.id] = std::move(p);
  loaded_ = true;
  return {};
}

std::optional<std::string> Admission::Find(const MachineIdentity& identity) const {
  // A UUID match wins over a MAC match elsewhere: a MAC moves with a docking station or a USB
  // adapter from machine to machine, the board's UUID does not.
  std::optional<std::string> by_mac;
  for (const auto& [id, record] : known_) {
    switch (Match(record.identity, identity)) {
      case IdentityMatch::kUuid:
        return id;
      case IdentityMatch::kMac:
        if (!by_mac) by_mac = id;
        break;
      case IdentityMatch::kNone:
        break;
    }
  }
  return by_mac;
}

Result<void> Admission::CheckFree(const MachineIdentity& identity, const std::string& machine_id,
                                  const std::string& where) const {
  for (const auto& [id, record] : known_) {
    if (id == machine_id) continue;
    const bool same_uuid =
        !identity.smbios_uuid.empty() && identity.smbios_uuid == record.identity.smbios_uuid;
    std::string mac;
    for (const auto& m : identity.macs)
      if (std::binary_search(record.identity.macs.begin(), record.identity.macs.end(), m)) mac = m;
    if (same_uuid || !mac.empty())
      return Fail(ErrorCode::kConflict,
                  where +
                      (same_uuid ? "SMBIOS UUID " + identity.smbios_uuid : "MAC address " + mac) +
                      " is machine " + id + "'s already (lifeboatctl machine show " + id + ")");
  }
  return {};
}

Result<VisitDecision> Admission::Hello(const MachineIdentity& identity,
                                       const std::string& computer_name,
                                       const std::string& inventory, const std::string& peer) {
  VisitDecision decision;
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    auto machine = Find(identity);
    if (!machine) {
      PendingRecord p{PendingId(identity), identity, computer_name, inventory, "", "", 0, peer};
      const bool first = !pending_.contains(p.id);
      if (first && pending_.size() >= max_pending_)
        return Fail(ErrorCode::kRefused,
                    std::to_string(pending_.size()) +
                        " machines wait as pending already: accept or import the fleet's "
                        "machines (lifeboatctl machine list --pending) before more can wait");
      LIFEBOAT_TRY(store_.SavePending(p));
      pending_[p.id] = std::move(p);
      decision.outcome = VisitDecision::Outcome::kPending;
      decision.message =
          "this machine is not accepted: it waits as pending " + PendingId(identity) +
          " until an operator runs lifeboatctl machine accept " + PendingId(identity);
      if (first) {
        changed_();  // its next boots go to its local disk
        if (sink_)
          sink_({"machine.pending", 0, PendingId(identity),
                 "waits to be accepted" +
                     (computer_name.empty() ? "" : " (Windows calls it " + computer_name + ")")});
      }
      return decision;
    }
    decision.machine_id = *machine;
    IdentityRecord& record = known_.at(*machine);
    // What it reports now (its adapters, its disks) replaces what was recorded: the UUID, which
    // decides, stays.
    if (record.identity != identity) {
      MachineIdentity merged = identity;
      if (merged.smbios_uuid.empty()) merged.smbios_uuid = record.identity.smbios_uuid;
      LIFEBOAT_TRY(store_.SetIdentity(*machine, merged));
      record.identity = std::move(merged);
    }
    // An operator's request is for one visit: this is it.
    if (record.service_requested) {
      LIFEBOAT_TRY(store_.SetServiceRequested(*machine, false));
      record.service_requested = false;
      decision.outcome = VisitDecision::Outcome::kService;
    }
  }
  auto work = fleet_.HasWork(decision.machine_id);
  LIFEBOAT_TRY(work);
  if (*work) decision.outcome = VisitDecision::Outcome::kService;
  if (decision.outcome != VisitDecision::Outcome::kService) {
    decision.outcome = VisitDecision::Outcome::kNoWork;
    decision.message = "machine " + decision.machine_id + " has nothing to do";
  } else {
    auto view = fleet_.Machine(decision.machine_id);
    LIFEBOAT_TRY(view);
    decision.labels = view->machine.labels;
    decision.message = "machine " + decision.machine_id + ": service visit";
  }
  changed_();
  return decision;
}

Result<size_t> Admission::Import(const std::vector<ImportRow>& rows) {
  std::vector<NewMachine> machines;
  size_t added = 0;
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    for (const auto& row : rows) {
      LIFEBOAT_TRY(CheckFree(row.identity, row.id, "line " + std::to_string(row.line) + ": "));
      if (!known_.contains(row.id)) ++added;
      machines.push_back({row.id, row.identity, row.name, row.labels});
    }
    LIFEBOAT_TRY(store_.AddMachines(machines));
    for (const auto& m : machines) {
      auto& record = known_[m.id];
      record.machine_id = m.id;
      record.identity = m.identity;
      pending_.erase(PendingId(m.identity));
    }
  }
  changed_();
  return added;
}

namespace {

// Windows' computer name as a machine id: lower case, if it is a valid name.
std::string IdFromComputerName(const std::string& name) {
  std::string id;
  for (char c : name) id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ValidName(id) ? id : "";
}

}  // namespace

Result<std::string> Admission::Accept(const std::string& pending_id, const std::string& machine_id,
                                      const std::map<std::string, std::string>& labels) {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    auto it = pending_.find(pending_id);
    if (it == pending_.end())
      return Fail(ErrorCode::kNotFound, "id: no pending machine " + pending_id +
                                            " (lifeboatctl machine list --pending lists them)");
    const PendingRecord& p = it->second;
    id = machine_id;
    if (id.empty()) {
      const std::string from_name = IdFromComputerName(p.computer_name);
      if (!from_name.empty() && !fleet_.Machine(from_name)) {
        id = from_name;
      } else {
        id = p.id;
        std::replace(id.begin(), id.end(), ':', '-');  // a MAC address as a name
      }
    }
    if (!ValidName(id)) return BadInput("machine_id", NotAName("machine_id", id));
    if (known_.contains(id))
      return Fail(ErrorCode::kAlreadyExists,
                  "machine_id: machine " + id + " exists already with its own hardware identity");
    LIFEBOAT_TRY(CheckFree(p.identity, id, ""));
    LIFEBOAT_TRY(store_.AddMachines({{id, p.identity, p.computer_name, labels}}));
    known_[id] = {id, p.identity, false};
    pending_.erase(it);
  }
  changed_();
  return id;
}

Result<std::vector<PendingRecord>> Admission::Pending() { return store_.Pending(); }

Result<void> Admission::RequestService(const std::string& machine_id) {
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    LIFEBOAT_TRY(store_.SetServiceRequested(machine_id, true));
    known_.at(machine_id).service_requested = true;
  }
  changed_();
  return {};
}

Result<void> Admission::SetNetworkRecovery(const std::string& machine_id,
                                           const NetworkRecoveryRequest& request) {
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    auto it = known_.find(machine_id);
    if (it == known_.end()) return std::unexpected(NoHardwareIdentity(machine_id));
    if (it->second.recovery == request) return {};
    LIFEBOAT_TRY(store_.SetRecoveryRequest(machine_id, request));
    it->second.recovery = request;
  }
  changed_();
  return {};
}

Result<void> Admission::RecordIdentity(const std::string& machine_id,
                                       const MachineIdentity& identity) {
  {
    std::lock_guard lock(mutex_);
    LIFEBOAT_TRY(Load());
    auto it = known_.find(machine_id);
    if (it != known_.end() && it->second.identity == identity) return {};
    LIFEBOAT_TRY(CheckFree(identity, machine_id, "identity: "));
    LIFEBOAT_TRY(store_.SetIdentity(machine_id, identity));
    auto& record = known_[machine_id];
    record.machine_id = machine_id;
    record.identity = identity;
  }
  changed_();
  return {};
}

Result<SiteRecoveryEntry> Admission::SiteEntry() { return store_.SiteEntry(); }

Result<void> Admission::SetSiteEntry(const SiteRecoveryEntry& entry) {
  LIFEBOAT_TRY(store_.SetSiteEntry(entry));
  changed_();
  return {};
}

Result<std::optional<IdentityRecord>> Admission::IdentityOf(const std::string& machine_id) {
  std::lock_guard lock(mutex_);
  LIFEBOAT_TRY(Load());
  auto it = known_.find(machine_id);
  if (it == known_.end()) return std::optional<IdentityRecord>{};
  return std::optional<IdentityRecord>{it->second};
}

Result<std::vector<NetbootEntry>> Admission::NetbootEntries() {
  auto busy = fleet_.MachinesWithWork();
  LIFEBOAT_TRY(busy);
  std::lock_guard lock(mutex_);
  LIFEBOAT_TRY(Load());
  std::vector<NetbootEntry> out;
  for (const auto& [id, record] : known_) {
    if (!record.recovery.token.empty()) {  // asked for by an operator: first, once
      out.push_back({id, record.identity, NetbootChoice::kRecovery, record.recovery.token});
      continue;
    }
    const bool service = record.service_requested || busy->contains(id);
    out.push_back({id, record.identity,
                   service ? NetbootChoice::kServiceEnvironment : NetbootChoice::kLocalDisk});
  }
  // Pending machines have introduced themselves: until accepted, they boot their local disk.
  for (const auto& [id, p] : pending_)
    out.push_back({"pending " + id, p.identity, NetbootChoice::kLocalDisk, "", true});
  return out;
}

void Admission::Forget(const std::string& machine_id) {
  {
    std::lock_guard lock(mutex_);
    known_.erase(machine_id);
  }
  changed_();
}

Result<void> Admission::SaveJournal(const std::string& machine_id, const std::string& journal) {
  static const std::string kSqliteHeader("SQLite format 3\0", 16);
  if (journal.size() > kMaxJournalBytes)
    return BadInput("journal", "the journal is " + std::to_string(journal.size()) +
                                   " bytes, more than " + std::to_string(kMaxJournalBytes));
  if (journal.compare(0, kSqliteHeader.size(), kSqliteHeader) != 0)
    return BadInput("journal", "the journal is not an SQLite file");
  return store_.SaveJournal(machine_id, journal);
}

Result<std::optional<std::string>> Admission::LoadJournal(const std::string& machine_id) {
  return store_.LoadJournal(machine_id);
}

}  // namespace lifeboat::controller
