// The controller's domain: the image catalog, machines calling in, rollouts and what each machine
// gets. The gRPC services translate protobuf to these calls and back; this class never sees
// protobuf, SQL or sockets. Thread-safe (the store serializes), blocks on the store and on image
// files.
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
#include "controller/fleet_store.h"
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
  ImageRecord image;
};

// Heartbeats are the bulk of the traffic: they are written by group commit (one transaction for
// all that arrive while the previous one commits) and answered once it has committed, so nothing
// acknowledged is lost to a crash. Open rollouts are cached in memory so that a heartbeat is
// answered without reading every member of a large rollout; every change goes to the store first.
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

  // Image catalog. Publishing checks the file with wimlib and stores it content-addressed; a
  // failed publish leaves nothing behind. Errors: kInvalidArgument (bad version, not a usable
  // WIM, or a signature that does not describe or match the image), kAlreadyExists, kNotFound
  // (no such file), kVerification (bytes do not match the declared SHA-256 or size). A signature
  // is optional here: agents decide which keys they trust, and refuse unsigned images.
  [[nodiscard]] Result<ImageRecord> PublishFromPath(const std::string& version,
                                                    const std::string& path,
                                                    const std::optional<SignedBy>& signed_by = {});
  // A partly received upload: Append the bytes in order, then Finish. Abandoned uploads are removed
  // when the object goes.
  class Upload {
   public:
    ~Upload();
    [[nodiscard]] Result<void> Append(const void* data, size_t size);
    [[nodiscard]] Result<ImageRecord> Finish();

   private:
    friend class Fleet;
    Upload(Fleet& fleet, std::string version, std::string sha256, uint64_t size,
           std::optional<SignedBy> signed_by, std::string temp_path, int fd);
    Fleet& fleet_;
    std::optional<SignedBy> signed_by_;
    std::string version_, sha256_, temp_path_;
    uint64_t size_ = 0, received_ = 0;
    int fd_ = -1;
    struct Hash;
    std::unique_ptr<Hash> hash_;
  };
  [[nodiscard]] Result<std::unique_ptr<Upload>> StartUpload(
      const std::string& version, const std::string& sha256, uint64_t size,
      const std::optional<SignedBy>& signed_by = {});
  [[nodiscard]] Result<std::vector<ImageRecord>> Images(bool include_retired);
  [[nodiscard]] Result<ImageRecord> Image(const std::string& version);
  [[nodiscard]] Result<ImageRecord> RetireImage(const std::string& version);
  // The blob of an image, for downloads. kNotFound.
  [[nodiscard]] Result<ImageRecord> ImageBySha(const std::string& sha256);
  // Downloads are served in chunks that end at multiples of kChunkBytes (or at the image's end),
  // each with the SHA-256 of the image up to its end. Those prefix hashes are computed once, in
  // one pass, when the image is published, and kept beside the blob (<blob>.prefixes). The hash
  // of the bytes [0, end), if `end` is such a chunk end.
  static constexpr uint32_t kChunkBytes = 1 << 20;
  [[nodiscard]] std::optional<std::string> PrefixHash(const ImageRecord& image, uint64_t end) const;

  // Agents. Errors: kInvalidArgument, kNotFound (heartbeat before registering).
  [[nodiscard]] Result<void> Register(const MachineRecord& machine);
  [[nodiscard]] Result<std::optional<Assignment>> Heartbeat(const std::string& machine_id,
                                                            const std::string& inventory,
                                                            const std::string& installed_version,
                                                            const std::string& state,
                                                            const std::string& current_step);
  // Returns the highest sequence stored. kNotFound (attempt of another machine or unknown).
  [[nodiscard]] Result<uint64_t> Report(const std::string& machine_id, uint64_t attempt_id,
                                        const std::vector<StepEvent>& events);

  // Rollouts. Errors: kInvalidArgument (spec), kNotFound (image, rollout), kConflict (retired
  // image, a state that forbids the change, nothing to roll back).
  [[nodiscard]] Result<RolloutView> CreateRollout(const RolloutSpec& spec,
                                                  uint64_t rollback_of = 0);
  [[nodiscard]] Result<RolloutView> Rollout(uint64_t id);
  [[nodiscard]] Result<std::vector<RolloutView>> Rollouts();
  [[nodiscard]] Result<RolloutView> Pause(uint64_t id);
  [[nodiscard]] Result<RolloutView> Resume(uint64_t id);
  [[nodiscard]] Result<RolloutView> Abort(uint64_t id);
  [[nodiscard]] Result<RolloutView> Rollback(uint64_t id);

  [[nodiscard]] Result<std::vector<MachineRecord>> Machines(
      const std::map<std::string, std::string>& labels);
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
  [[nodiscard]] bool BootRecoveryPending(const std::string& machine_id);
  [[nodiscard]] Result<void> BootRecoveryDone(const std::string& machine_id);

 private:
  [[nodiscard]] Result<ImageRecord> Adopt(const std::string& version, const std::string& file,
                                          const std::optional<SignedBy>& signed_by, bool move);
  // Re-evaluates a rollout and records a halt or completion. Returns the view.
  [[nodiscard]] Result<RolloutView> Refresh(const RolloutRecord& rollout);
  // Evaluates a rollout's members, first marking skipped (in the store and in `members`) those
  // offline past the deadline.
  [[nodiscard]] Result<Evaluation> EvaluateAndSkip(const RolloutRecord& rollout,
                                                   std::vector<MemberRecord>& members);
  // Records a halt or completion the evaluation calls for, in the store and in `rollout`.
  // Returns whether the rollout finished.
  [[nodiscard]] Result<bool> RecordOutcome(RolloutRecord& rollout, const Evaluation& evaluation);

  // An unfinished rollout as the heartbeat path sees it.
  struct OpenRollout {
    RolloutRecord record;
    ImageRecord image;
    std::vector<MemberRecord> members;  // by position
    std::unordered_map<std::string, size_t> index;
    std::optional<Evaluation> evaluation;  // recomputed after a member finishes, or a second on
    TimePoint evaluated_at;
  };
  [[nodiscard]] Result<void> LoadOpenRollouts();  // with state_mutex_ held
  // Evaluates (if needed) and records a halt or completion. With state_mutex_ held.
  [[nodiscard]] Result<void> Settle(OpenRollout& rollout);
  void Forget(uint64_t rollout_id);  // with state_mutex_ held
  [[nodiscard]] Result<void> SetState(uint64_t id, RolloutState state, const std::string& message);
  void FlushLoop(std::stop_token stop);

  FleetStore& store_;
  std::string data_dir_;
  std::function<TimePoint()> clock_;
  std::chrono::seconds offline_after_;

  std::mutex state_mutex_;  // the rollout cache; one assignment decision at a time, so caps hold
  bool loaded_ = false;
  std::map<uint64_t, OpenRollout> open_;
  std::unordered_map<std::string, uint64_t> rollout_of_;  // machine -> its open rollout

  std::mutex health_mutex_;
  std::optional<TimePoint> health_checked_at_;
  Result<void> health_;

  std::mutex flush_mutex_;
  std::mutex heartbeat_mutex_;
  std::unordered_set<std::string> known_;          // registered machines
  std::unordered_set<std::string> boot_recovery_;  // machines with a pending boot-recovery request
  std::unordered_map<std::string, FleetStore::Heartbeat> pending_;
  uint64_t queued_ = 0;   // heartbeats queued so far
  uint64_t flushed_ = 0;  // of those, committed (or failed: flush_error_)
  std::optional<Error> flush_error_;
  std::condition_variable_any flush_wakeup_;
  std::condition_variable flushed_wakeup_;
  std::jthread flusher_;
};

}  // namespace lifeboat::controller
