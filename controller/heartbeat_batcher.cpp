#include "controller/heartbeat_batcher.h"

#include <pthread.h>

#include <chrono>
#include <vector>

namespace lifeboat::controller {

HeartbeatBatcher::HeartbeatBatcher(FleetStore& store) : store_(store) {
  flusher_ = std::jthread([this](std::stop_token stop) {
    pthread_setname_np(pthread_self(), "heartbeat-flush");  // as top -H and /proc show it
    FlushLoop(stop);
  });
}

HeartbeatBatcher::~HeartbeatBatcher() {
  flusher_.request_stop();
  flush_wakeup_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  (void)Flush();
}

Result<void> HeartbeatBatcher::Record(const FleetStore::Heartbeat& heartbeat) {
  std::lock_guard lock(heartbeat_mutex_);
  const bool first_queued = pending_.empty();
  FleetStore::Heartbeat& h = pending_[heartbeat.id];
  h.id = heartbeat.id;
  if (!heartbeat.inventory.empty()) h.inventory = heartbeat.inventory;
  if (!heartbeat.installed_version.empty()) h.installed_version = heartbeat.installed_version;
  h.state = heartbeat.state;
  h.current_step = heartbeat.current_step;
  if (first_queued) flush_wakeup_.notify_one();  // the flush thread waits for the first only
  if (flush_error_) return std::unexpected(*flush_error_);
  return {};
}

void HeartbeatBatcher::FlushLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(heartbeat_mutex_);
      flush_wakeup_.wait(lock, stop, [this] { return !pending_.empty(); });
      // Gather the heartbeats of the next moments into the same commit: at a few hundred a
      // second, a commit for each one or two spent more of the controller's CPU on SQLite's
      // transactions and fsyncs than on the heartbeats themselves.
      flush_wakeup_.wait_for(lock, stop, kGatherTime, [] { return false; });
    }
    if (Flush()) continue;
    // The store failed: try again in a second, not in a loop.
    std::unique_lock lock(heartbeat_mutex_);
    flush_wakeup_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
  }
}

void HeartbeatBatcher::DropQueuedVersion(const std::string& machine_id) {
  std::lock_guard flushing(flush_mutex_);
  std::lock_guard lock(heartbeat_mutex_);
  auto queued = pending_.find(machine_id);
  if (queued != pending_.end()) queued->second.installed_version.clear();
}

Result<void> HeartbeatBatcher::Flush() {
  // One flush at a time: a caller that returns from Flush knows every heartbeat queued before
  // its call is in the store, even one the background flush had already taken.
  std::lock_guard flushing(flush_mutex_);
  std::vector<FleetStore::Heartbeat> batch;
  {
    std::lock_guard lock(heartbeat_mutex_);
    batch.reserve(pending_.size());
    for (auto& [id, h] : pending_) batch.push_back(std::move(h));
    pending_.clear();
  }
  auto written = store_.RecordHeartbeats(batch);
  std::lock_guard lock(heartbeat_mutex_);
  if (written) {
    flush_error_.reset();
    return written;
  }
  flush_error_ = written.error();
  // Put back for the next try, under what newer heartbeats of the same machines said.
  for (auto& h : batch) {
    auto [queued, fresh] = pending_.try_emplace(h.id, h);
    if (fresh) continue;
    if (queued->second.inventory.empty()) queued->second.inventory = std::move(h.inventory);
    if (queued->second.installed_version.empty())
      queued->second.installed_version = std::move(h.installed_version);
  }
  return written;
}

}  // namespace lifeboat::controller
