// The controller's state: images, machines, rollouts and their members, attempts and step
// events, in SQL through Poco::Data (used only in fleet_store.cpp). Embedded SQLite by default
// (WAL, foreign keys, synchronous=FULL: a call that returned survives a crash); the SQL is kept
// to what PostgreSQL also runs, with the few differences in one Dialect, so a second backend is
// a connector and a dialect away. Thread-safe: calls are serialized on one session.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/access_store.h"
#include "controller/identity_store.h"
#include "controller/listing.h"
#include "controller/model.h"
#include "controller/webhook_store.h"

namespace lifeboat::controller {

// Rollout members written per transaction while a rollout is created: a few milliseconds each,
// so heartbeats waiting to be written never wait long.
inline constexpr size_t kMembersPerTransaction = 2000;

struct StoreSession;
class GroupCommit;

class FleetStore {
 public:
  // Opens or creates the SQLite database at `path` and migrates its schema. Errors: kCorrupt
  // (SQLite's quick_check finds the file damaged: the message names it and how to recover),
  // kDatabase.
  [[nodiscard]] static Result<std::unique_ptr<FleetStore>> OpenSqlite(const std::string& path);
  // The file on disk checked again (quick_check, through a connection of its own). kCorrupt.
  [[nodiscard]] Result<void> CheckIntegrity();
  ~FleetStore();

  // Images. AddImage: kAlreadyExists when the version is taken.
  [[nodiscard]] Result<void> AddImage(const ImageRecord& image);
  [[nodiscard]] Result<std::optional<ImageRecord>> FindImage(const std::string& version);
  [[nodiscard]] Result<std::optional<ImageRecord>> FindImageBySha(const std::string& sha256);
  [[nodiscard]] Result<std::vector<ImageRecord>> ListImages(bool include_retired);
  // kNotFound, kConflict (an active or paused rollout uses it).
  [[nodiscard]] Result<ImageRecord> RetireImage(const std::string& version);

  // Machines. Register creates or refreshes (idempotent).
  [[nodiscard]] Result<void> RegisterMachine(const MachineRecord& machine);
  // Writes the latest heartbeat of many machines in one transaction (last_seen = now). Machines
  // that never registered are skipped. An empty inventory or installed version keeps the stored
  // one (a heartbeat that only reports its state).
  struct Heartbeat {
    std::string id;
    std::string inventory;
    std::string installed_version;
    AgentState state = AgentState::kIdle;
    std::string current_step;
  };
  [[nodiscard]] Result<void> RecordHeartbeats(const std::vector<Heartbeat>& heartbeats);
  [[nodiscard]] Result<std::vector<std::string>> MachineIds();
  // The ids and last_seen of at most `limit` machines carrying every label (all when empty),
  // by id, after `after_id`: a short read, where ListMachines reads every machine whole.
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> MachineIdsPage(
      const std::map<std::string, std::string>& labels, const std::string& after_id,
      uint32_t limit);
  // Marks (or clears) a pending boot-recovery request. kNotFound.
  [[nodiscard]] Result<void> SetBootRecovery(const std::string& id, bool pending);
  // An operator's change to a machine's labels: these set, those removed. Kept apart from what
  // the agent reports, and applied again over it at each registration, so that an agent
  // registering again does not undo it. kNotFound.
  [[nodiscard]] Result<void> ChangeLabels(const std::string& machine_id,
                                          const std::map<std::string, std::string>& set,
                                          const std::vector<std::string>& remove);
  // Forgets a machine: its row, labels, identity, journal, rollout memberships, attempts and
  // their step events, in one transaction. Returns how many attempts went. kNotFound.
  [[nodiscard]] Result<uint64_t> DeleteMachine(const std::string& machine_id);
  [[nodiscard]] Result<std::optional<MachineRecord>> FindMachine(const std::string& id);
  // Machines carrying every label (all when empty), by id.
  [[nodiscard]] Result<std::vector<MachineRecord>> ListMachines(
      const std::map<std::string, std::string>& labels);
  // Every machine's last_seen (RFC 3339), in no order.
  [[nodiscard]] Result<std::vector<std::string>> LastSeenTimes();
  // A page of the machines `filter` matches, by id: at most `limit` (0: all) after `after_id`.
  // `offline_before` (RFC 3339): machines last seen before it are offline.
  [[nodiscard]] Result<MachinePage> FindMachines(const MachineFilter& filter,
                                                 const std::string& offline_before,
                                                 const std::string& after_id, uint32_t limit);

  // Rollouts. A rollout is created in steps, so that a large one never holds the database for
  // long (heartbeats are written between the steps): BeginRollout stores it unseen (no read
  // lists it; `rollout.state` is not used), AddMembers adds its members (machine ids in wave
  // order from `first_position`, kMembersPerTransaction or so at a time), and SetRolloutState
  // makes it seen. DiscardRollout deletes one still unseen; DiscardHalfCreatedRollouts, at
  // start, those a stop left unseen (returns how many). CreateRollout does all the steps.
  [[nodiscard]] Result<uint64_t> BeginRollout(const RolloutRecord& rollout);
  [[nodiscard]] Result<void> AddMembers(uint64_t rollout_id,
                                        const std::vector<std::string>& machine_ids,
                                        uint32_t first_position);
  [[nodiscard]] Result<void> DiscardRollout(uint64_t rollout_id);
  [[nodiscard]] Result<uint64_t> DiscardHalfCreatedRollouts();
  [[nodiscard]] Result<uint64_t> CreateRollout(const RolloutRecord& rollout,
                                               const std::vector<std::string>& machine_ids);
  [[nodiscard]] Result<std::optional<RolloutRecord>> FindRollout(uint64_t id);
  [[nodiscard]] Result<std::vector<RolloutRecord>> ListRollouts();
  [[nodiscard]] Result<void> SetRolloutState(uint64_t id, RolloutState state,
                                             const std::string& message);
  // A resumed halt: the rollout halts again only for failures beyond `failures`.
  [[nodiscard]] Result<void> AcceptFailures(uint64_t id, uint32_t failures);
  // Marks members skipped (offline past the rollout's deadline), in one transaction.
  [[nodiscard]] Result<void> SkipMembers(uint64_t rollout_id, const std::vector<std::string>& ids);
  // Members by position, each with its machine's last_seen.
  [[nodiscard]] Result<std::vector<MemberRecord>> Members(uint64_t rollout_id);
  // At most `limit` of them, from `from_position` on.
  [[nodiscard]] Result<std::vector<MemberRecord>> MembersPage(uint64_t rollout_id,
                                                              uint32_t from_position,
                                                              uint32_t limit);
  // The active, paused or halted rollout the machine belongs to, if any.
  [[nodiscard]] Result<std::optional<uint64_t>> OpenRolloutOf(const std::string& machine_id);

  // Attempts. StartAttempt creates an attempt and marks the member assigned, in one transaction
  // (image_version is '' for a job without an image).
  [[nodiscard]] Result<AttemptRecord> StartAttempt(uint64_t rollout_id,
                                                   const std::string& machine_id, JobKind job,
                                                   const std::string& image_version,
                                                   const std::string& previous_version);
  [[nodiscard]] Result<std::optional<AttemptRecord>> FindAttempt(uint64_t id);
  // Stores the events whose sequence is above the highest stored (idempotent) and applies a
  // final one (succeeded or failed) to the attempt and its member. kNotFound for no attempt.
  struct EventsResult {
    uint64_t highest_sequence = 0;
    MemberState attempt_state = MemberState::kAssigned;  // after the events (never kPending)
    uint64_t rollout_id = 0;
    std::string machine_id;
  };
  [[nodiscard]] Result<EventsResult> AddEvents(uint64_t attempt_id,
                                               const std::vector<StepEvent>& events);
  // Attempts of a machine, newest first, with their events.
  [[nodiscard]] Result<std::vector<AttemptRecord>> Attempts(const std::string& machine_id);

  // `offline_before`: machines last seen before this time (RFC 3339) count as offline.
  [[nodiscard]] Result<FleetSummary> Summary(const std::string& offline_before = "");

  // Operators, enrollment tokens, revocations and the audit log, on the same connection.
  [[nodiscard]] AccessStore& access() { return *access_; }
  [[nodiscard]] IdentityStore& identities() { return *identities_; }
  [[nodiscard]] WebhookStore& webhooks() { return *webhooks_; }

 private:
  explicit FleetStore(std::shared_ptr<StoreSession> session);
  std::shared_ptr<StoreSession> s_;
  std::unique_ptr<GroupCommit> group_;  // the writes agents make at once: attempts, step events
  std::unique_ptr<AccessStore> access_;
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<WebhookStore> webhooks_;
};

}  // namespace lifeboat::controller
