// Heartbeats are the bulk of the controller's traffic: they are written by group commit (one
// transaction for all that arrive while the previous one commits, from a thread of its own) and
// each caller returns once the transaction holding its heartbeat has committed, so nothing
// acknowledged is lost to a crash.
#pragma once

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
  // or installed version keeps the queued one) and returns once it is committed. Errors: the
  // store's, for every heartbeat of the failed transaction.
  [[nodiscard]] Result<void> Record(const FleetStore::Heartbeat& heartbeat);
  // Writes the queued heartbeats now.
  [[nodiscard]] Result<void> Flush();

 private:
  void FlushLoop(std::stop_token stop);

  FleetStore& store_;
  std::mutex flush_mutex_;
  std::mutex heartbeat_mutex_;
  std::unordered_map<std::string, FleetStore::Heartbeat> pending_;
  uint64_t queued_ = 0;   // heartbeats queued so far
  uint64_t flushed_ = 0;  // of those, committed (or failed: flush_error_)
  std::optional<Error> flush_error_;
  std::condition_variable_any flush_wakeup_;
  std::condition_variable flushed_wakeup_;
  std::jthread flusher_;
};

}  // namespace lifeboat::controller
