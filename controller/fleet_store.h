// The controller's state: images, machines, rollouts and their members, attempts and step
// events, in SQL through Poco::Data (used only in fleet_store.cpp). Embedded SQLite by default
// (WAL, foreign keys, synchronous=FULL: a call that returned survives a crash); the SQL is kept
// to what PostgreSQL also runs, with the few differences in one Dialect, so a second backend is
// a connector and a dialect away. Thread-safe: calls are serialized on one session.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/model.h"

namespace Poco::Data {
class Session;
}

namespace lifeboat::controller {

struct Dialect;

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
    std::string state;
    std::string current_step;
  };
  [[nodiscard]] Result<void> RecordHeartbeats(const std::vector<Heartbeat>& heartbeats);
  [[nodiscard]] Result<std::vector<std::string>> MachineIds();
  // Marks (or clears) a pending boot-recovery request. kNotFound.
  [[nodiscard]] Result<void> SetBootRecovery(const std::string& id, bool pending);
  [[nodiscard]] Result<std::optional<MachineRecord>> FindMachine(const std::string& id);
  // Machines carrying every label (all when empty), by id.
  [[nodiscard]] Result<std::vector<MachineRecord>> ListMachines(
      const std::map<std::string, std::string>& labels);

  // Rollouts. CreateRollout stores the rollout and its members (machine ids in wave order) in
  // one transaction and returns its id.
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
  // The active, paused or halted rollout the machine belongs to, if any.
  [[nodiscard]] Result<std::optional<uint64_t>> OpenRolloutOf(const std::string& machine_id);

  // Attempts. StartAttempt creates an attempt and marks the member assigned, in one transaction.
  [[nodiscard]] Result<AttemptRecord> StartAttempt(uint64_t rollout_id,
                                                   const std::string& machine_id,
                                                   const std::string& image_version,
                                                   const std::string& previous_version);
  [[nodiscard]] Result<std::optional<AttemptRecord>> FindAttempt(uint64_t id);
  // Stores the events whose sequence is above the highest stored (idempotent) and applies a
  // final one (succeeded or failed) to the attempt and its member. kNotFound for no attempt.
  struct EventsResult {
    uint64_t highest_sequence = 0;
    std::string attempt_state;  // assigned, running, succeeded, failed: after the events
    uint64_t rollout_id = 0;
    std::string machine_id;
  };
  [[nodiscard]] Result<EventsResult> AddEvents(uint64_t attempt_id,
                                               const std::vector<StepEvent>& events);
  // Attempts of a machine, newest first, with their events.
  [[nodiscard]] Result<std::vector<AttemptRecord>> Attempts(const std::string& machine_id);

  // `offline_before`: machines last seen before this time (RFC 3339) count as offline.
  [[nodiscard]] Result<FleetSummary> Summary(const std::string& offline_before = "");

  // Operators. AddOperator: kAlreadyExists; RemoveOperator: kNotFound.
  [[nodiscard]] Result<void> AddOperator(const OperatorRecord& op);
  [[nodiscard]] Result<std::optional<OperatorRecord>> FindOperatorByToken(
      const std::string& token_sha256);
  [[nodiscard]] Result<std::vector<OperatorRecord>> ListOperators();
  [[nodiscard]] Result<void> RemoveOperator(const std::string& name);

  // Enrollment tokens, kept as SHA-256. UseEnrollmentToken marks one used by `machine_id` if it
  // is unused and not expired at `now` (seconds since the epoch), in one statement, and returns
  // its labels (k=v lines). kUnauthenticated naming why otherwise.
  [[nodiscard]] Result<void> AddEnrollmentToken(const std::string& token_sha256,
                                                const std::string& labels, int64_t expires_at,
                                                const std::string& created_by);
  [[nodiscard]] Result<std::string> UseEnrollmentToken(const std::string& token_sha256,
                                                       const std::string& machine_id, int64_t now);
  // Revoked machines (idempotent).
  [[nodiscard]] Result<void> RevokeMachine(const std::string& machine_id, const std::string& by);
  [[nodiscard]] Result<std::vector<std::string>> RevokedMachines();

  // The audit log: appended to, never changed. AuditLog: newest first, at most `limit`.
  [[nodiscard]] Result<void> AddAudit(const AuditRecord& entry);
  [[nodiscard]] Result<std::vector<AuditRecord>> AuditLog(uint32_t limit);

 private:
  FleetStore(std::unique_ptr<Poco::Data::Session> session, const Dialect& dialect);
  std::unique_ptr<Poco::Data::Session> session_;
  std::string path_;
  const Dialect& dialect_;
  std::mutex mutex_;
};

}  // namespace lifeboat::controller
