// The controller's domain: machines calling in, rollouts and what each machine gets (the image
// catalog and the heartbeat batcher are its parts, in their own files). The gRPC services translate
// protobuf to these calls and back; this class never sees protobuf, SQL or sockets. Thread-safe
// (the store serializes), blocks on the store and on image files.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.h"
#include "controller/fleet_events.h"
#include "controller/fleet_store.h"
#include "controller/heartbeat_batcher.h"
#include "controller/image_catalog.h"
#include "controller/model.h"

namespace lifeboat::controller {

// Ten minutes: twenty missed heartbeats at the default period.
inline constexpr std::chrono::seconds kDefaultOfflineAfter{600};

struct RolloutView {
  RolloutRecord rollout;
  Evaluation evaluation;
};

struct MachineView {
  MachineRecord machine;
  std::vector<AttemptRecord> attempts;  // newest first
};

struct Assignment {
  uint64_t attempt_id = 0;
  uint64_t rollout_id = 0;
  RolloutJob job{};
  ImageRecord image;  // to install (a job other than kInstall has none)
  // The highest step-event sequence stored for the attempt: an agent that lost its own record (a
  // service visit's RAM disk, cut by a power loss) numbers its events on from there.
  uint64_t reported_sequence = 0;
};

// Heartbeats are answered once queued (controller/heartbeat_batcher.h). Open rollouts are cached
// in memory so that a heartbeat is answered without reading every member of a large rollout; every
// change goes to the store first.
class Fleet {
 public:
  // `data_dir` holds the image blobs (images/<sha256>.wim); the store is separate. A machine
  // silent for longer than `offline_after` is shown offline, and skipped by rollouts past their
  // deadline.
  Fleet(FleetStore& store, std::string data_dir, std::function<TimePoint()> clock = Clock::now,
        std::chrono::seconds offline_after = kDefaultOfflineAfter);
  ~Fleet();
  // Writes queued heartbeats now.
  [[nodiscard]] Result<void> Flush();
  // Where rollouts halting or finishing and attempts failing are told (webhooks); none: nowhere.
  // Set before serving.
  void SetEventSink(FleetEventSink sink) { sink_ = std::move(sink); }

  // The image catalog (publishing, uploads, downloads' prefix hashes).
  [[nodiscard]] ImageCatalog& catalog() { return catalog_; }

  // Agents. Errors: kInvalidArgument, kNotFound (heartbeat before registering).
  [[nodiscard]] Result<void> Register(const MachineRecord& machine);
  [[nodiscard]] Result<std::optional<Assignment>> Heartbeat(const std::string& machine_id,
                                                            const std::string& inventory,
                                                            const std::string& installed_version,
                                                            AgentState state,
                                                            const std::string& current_step);
  // Returns the highest sequence stored. kNotFound (attempt of another machine or unknown).
  [[nodiscard]] Result<uint64_t> Report(const std::string& machine_id, uint64_t attempt_id,
                                        const std::vector<StepEvent>& events);

  // Rollouts. Errors: kInvalidArgument (spec), kNotFound (image, rollout), kConflict (retired
  // image, a state that forbids the change, nothing to roll back, a WinRE grow to roll back). A
  // remove is rolled back by installing again the version its machines had.
  [[nodiscard]] Result<RolloutView> CreateRollout(const RolloutSpec& spec,
                                                  uint64_t rollback_of = 0);
  [[nodiscard]] Result<RolloutView> Rollout(uint64_t id);
  [[nodiscard]] Result<std::vector<RolloutView>> Rollouts();
  // A page of a rollout's machines by position (its record's wave_ends say which wave each is
  // in): at most `limit` from `from_position`, as the store has them, with every wave's counts.
  // Reads only the page, whatever the rollout's size. kNotFound.
  struct RolloutMachinesPage {
    RolloutView view;
    RolloutTally waves;
    std::vector<MemberRecord> machines;
  };
  [[nodiscard]] Result<RolloutMachinesPage> RolloutMachines(uint64_t id, uint32_t from_position,
                                                            uint32_t limit);
  [[nodiscard]] Result<RolloutView> Pause(uint64_t id);
  [[nodiscard]] Result<RolloutView> Resume(uint64_t id);
  [[nodiscard]] Result<RolloutView> Abort(uint64_t id);
  [[nodiscard]] Result<RolloutView> Rollback(uint64_t id);

  // Whether the machine has work: an assignment not reported finished, or one the rollout engine
  // would give it now. A service environment stays while it has; the netboot tree sends the
  // machines that have to the service environment. Assigns nothing.
  [[nodiscard]] Result<bool> HasWork(const std::string& machine_id);
  [[nodiscard]] Result<std::unordered_set<std::string>> MachinesWithWork();

  [[nodiscard]] Result<std::vector<MachineRecord>> Machines(
      const std::map<std::string, std::string>& labels);
  // A page of the machines `filter` matches, by id, after `after_id`, at most `limit`
  // (FleetStore::FindMachines), with `offline` filled.
  [[nodiscard]] Result<MachinePage> FindMachines(const MachineFilter& filter,
                                                 const std::string& after_id, uint32_t limit);
  // Seconds since each machine last called in (for the metrics).
  [[nodiscard]] Result<std::vector<double>> LastContactAges();
  // Whether a machine last seen at `last_seen` (RFC 3339) counts as offline now.
  [[nodiscard]] bool Offline(const std::string& last_seen) const;
  [[nodiscard]] std::chrono::seconds offline_after() const { return offline_after_; }
  [[nodiscard]] Result<MachineView> Machine(const std::string& id);
  [[nodiscard]] Result<FleetSummary> Summary();
  // Whether the store is sound: it answers, and its file passes SQLite's quick_check (run at
  // most every 5 seconds; the last answer is reused in between). kCorrupt, kDatabase.
  [[nodiscard]] Result<void> StoreHealth();

  // Help desk: the machine's next boot (only) should start Lifeboat. The request waits in the
  // store until the agent says it has set it. kNotFound.
  [[nodiscard]] Result<MachineRecord> RequestBootRecovery(const std::string& machine_id);
  // An operator's change to a machine's labels (kept over what its agent reports). Label keys are
  // non-empty text without '=' or line breaks. kInvalidArgument, kNotFound.
  [[nodiscard]] Result<MachineRecord> ChangeLabels(const std::string& machine_id,
                                                   const std::map<std::string, std::string>& set,
                                                   const std::vector<std::string>& remove);
  // Forgets a machine and its history (FleetStore::DeleteMachine); returns how many attempts went.
  // kConflict while it is a member of a rollout that is not finished; kNotFound.
  [[nodiscard]] Result<uint64_t> DeleteMachine(const std::string& machine_id);
  [[nodiscard]] bool BootRecoveryPending(const std::string& machine_id);
  [[nodiscard]] Result<void> BootRecoveryDone(const std::string& machine_id);

 private:
  // An install's image: published, not retired or expired, signed unless allowed.
  [[nodiscard]] Result<void> CheckImageToInstall(const RolloutSpec& spec);
  // A rollout the cache does not hold (a finished one), evaluated from the store's members.
  struct StoredRollout {
    RolloutView view;
    RolloutTally tally;
  };
  // Reads and evaluates it, and records a halt or completion. A finished rollout never changes:
  // its answer is kept (finished_) until a machine is deleted. With state_mutex_ held.
  [[nodiscard]] Result<StoredRollout> ReadStoredRollout(const RolloutRecord& rollout);
  // Evaluates a finished rollout's members (read from the store), first marking skipped those
  // offline past the deadline.
  [[nodiscard]] Result<Evaluation> EvaluateAndSkip(const RolloutRecord& rollout,
                                                   std::vector<MemberRecord>& members);
  // Records a halt or completion the evaluation calls for, in the store and in `rollout`.
  // Returns whether the rollout finished.
  [[nodiscard]] Result<bool> RecordOutcome(RolloutRecord& rollout, const Evaluation& evaluation);

  // An unfinished rollout as the heartbeat path sees it. Its tally follows every change to a
  // member (ChangeMember), so evaluating it never visits its members, except one wave's once a
  // second when that wave is past its machine deadline.
  struct OpenRollout {
    RolloutRecord record;
    ImageRecord image;
    std::vector<MemberRecord> members;  // by position
    std::unordered_map<std::string, size_t> index;
    RolloutTally tally;
    std::optional<Evaluation> evaluation;  // updated after each change; in full a second on
    TimePoint evaluated_at;
  };
  // The cache's entry for a rollout: its members as the store has them.
  [[nodiscard]] Result<OpenRollout> MakeOpenRollout(const RolloutRecord& record,
                                                    std::vector<MemberRecord> members);
  [[nodiscard]] Result<void> LoadOpenRollouts();  // with state_mutex_ held
  // Changes a cached member through `change`, keeping its rollout's tally in step.
  static void ChangeMember(OpenRollout& r, MemberRecord& me,
                           const std::function<void(Member&)>& change);
  // Evaluates a cached rollout from its tally; with `visit_deadline`, also finds (and marks
  // skipped, in the store and the cache) machines offline past the deadline. With state_mutex_.
  [[nodiscard]] Result<void> EvaluateOpen(OpenRollout& r, bool visit_deadline);
  // What a heartbeat gets, decided under state_mutex_: nothing, the work it has again (its
  // attempt's stored events still to read), or new work, which the cache already counts as
  // assigned (last_attempt_id kAssigning) until the store has the attempt.
  struct Decision {
    enum Kind { kNothing, kAgain, kNew } kind = kNothing;
    Assignment assignment;
    MemberState state_before = MemberState::kPending;  // kNew: to put back if the store refuses
  };
  static constexpr uint64_t kAssigning = UINT64_MAX;
  [[nodiscard]] Result<Decision> Decide(const std::string& machine_id);
  // Makes a kNew decision final once the store answered (`attempt_id`; 0: it refused, and the
  // member is put back as it was). With state_mutex_ held.
  void FinishAssigning(uint64_t rollout_id, const std::string& machine_id, MemberState state_before,
                       uint64_t attempt_id, const std::string& installed_version);
  // The cached member, or null (the rollout is not open, or the machine not in it).
  [[nodiscard]] MemberRecord* CachedMember(uint64_t rollout_id, const std::string& machine_id);
  // EvaluateOpen from the tally after a change that must stand whatever the evaluation's fate.
  void ReevaluateAfterChange(OpenRollout& r);
  // Whether `member` of `r` has work (see HasWork); `r` settled, state_mutex_ held.
  static bool MemberHasWork(const OpenRollout& r, const MemberRecord& member);
  // Evaluates (in full if the last full one is a second old, from the tally after a change) and
  // records a halt or completion. With state_mutex_ held.
  [[nodiscard]] Result<void> Settle(OpenRollout& rollout, bool changed = false);
  void Forget(uint64_t rollout_id);  // with state_mutex_ held
  [[nodiscard]] Result<void> SetState(uint64_t id, RolloutState state, const std::string& message);

  void Tell(FleetEvent event) const {
    if (sink_) sink_(event);
  }

  FleetStore& store_;
  FleetEventSink sink_;
  ImageCatalog catalog_;
  HeartbeatBatcher batcher_;
  std::function<TimePoint()> clock_;
  std::chrono::seconds offline_after_;

  std::mutex create_mutex_;  // one rollout created at a time: a machine is in one open rollout
  std::mutex state_mutex_;   // the rollout cache; one assignment decision at a time, so caps hold
  bool loaded_ = false;
  std::map<uint64_t, OpenRollout> open_;
  std::unordered_map<std::string, uint64_t> rollout_of_;  // machine -> its open rollout
  std::map<uint64_t, StoredRollout> finished_;            // finished rollouts, as last read

  std::mutex health_mutex_;
  std::optional<TimePoint> health_checked_at_;
  Result<void> health_;

  std::mutex machines_mutex_;
  std::unordered_set<std::string> known_;          // registered machines
  std::unordered_set<std::string> boot_recovery_;  // machines with a pending boot-recovery request
};

}  // namespace lifeboat::controller
