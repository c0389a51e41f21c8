// Heartbeats are the bulk of the controller's traffic: they are written in batches (all that
// arrive within kGatherTime of the first, from a thread of its own), each batch one call of
// the store's group commit, in a transaction shared with assignments and reports. A
// caller returns once its heartbeat is queued, not committed: a heartbeat is soft state (when a
// machine was last seen, what it reports), which its next one says again, and waiting for the
// commit's fsync doubled its answer's time under load (docs/benchmarks.md). A controller killed
// loses at most the heartbeats not yet committed (those of its last kGatherTime, and of a commit
// under way). Readers that need them call Flush first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "controller/fleet_store.h"

namespace lifeboat::controller {

class HeartbeatBatcher {
 public:
  explicit HeartbeatBatcher(FleetStore& store);
  // Writes what is still queued.
  ~HeartbeatBatcher();

  // Queues a machine's heartbeat (over one of the same machine still queued; an empty inventory
  // or installed version keeps the queued one) for the next commit. Errors: the store's, while
  // the last commit failed (the heartbeat stays queued for the next try).
  [[nodiscard]] Result<void> Record(const FleetStore::Heartbeat& heartbeat);
  // Writes the queued heartbeats now.
  [[nodiscard]] Result<void> Flush();
  // A report about to be stored says what the machine runs now (a finished install or remove),
  // which is newer than the version its queued heartbeat says: that one is dropped, after a commit
  // under way (which may hold it) has ended, so that it is not written over the report's.
  void DropQueuedVersion(const std::string& machine_id);

 private:
  // How long the background flush waits after a heartbeat arrives before writing the batch.
  static constexpr std::chrono::milliseconds kGatherTime{200};

  void FlushLoop(std::stop_token stop);

  FleetStore& store_;
  std::mutex flush_mutex_;
  std::mutex heartbeat_mutex_;
  std::unordered_map<std::string, FleetStore::Heartbeat> pending_;
  std::optional<Error> flush_error_;  // the last commit's, if it failed
  std::condition_variable_any flush_wakeup_;
  std::jthread flusher_;
};

}  // namespace lifeboat::controller
