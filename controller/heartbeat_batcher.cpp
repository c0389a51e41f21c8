#include "controller/heartbeat_batcher.h"

namespace lifeboat::controller {

HeartbeatBatcher::HeartbeatBatcher(FleetStore& store) : store_(store) {
  flusher_ = std::jthread([this](std::stop_token stop) { FlushLoop(stop); });
}

HeartbeatBatcher::~HeartbeatBatcher() {
  flusher_.request_stop();
  flush_wakeup_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  (void)Flush();
}

Result<void> HeartbeatBatcher::Record(const FleetStore::Heartbeat& heartbeat) {
  std::unique_lock lock(heartbeat_mutex_);
  FleetStore::Heartbeat& h = pending_[heartbeat.id];
  h.id = heartbeat.id;
  if (!heartbeat.inventory.empty()) h.inventory = heartbeat.inventory;
  if (!heartbeat.installed_version.empty()) h.installed_version = heartbeat.installed_version;
  h.state = heartbeat.state;
  h.current_step = heartbeat.current_step;
  const uint64_t mine = ++queued_;
  flush_wakeup_.notify_one();
  flushed_wakeup_.wait(lock, [&] { return flushed_ >= mine; });
  if (flush_error_) return std::unexpected(*flush_error_);
  return {};
}

void HeartbeatBatcher::FlushLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(heartbeat_mutex_);
      flush_wakeup_.wait(lock, stop, [this] { return !pending_.empty(); });
    }
    (void)Flush();
  }
}

Result<void> HeartbeatBatcher::Flush() {
  // One flush at a time: a caller that returns from Flush knows every heartbeat queued before
  // its call is in the store, even one the background flush had already taken.
  std::lock_guard flushing(flush_mutex_);
  std::vector<FleetStore::Heartbeat> batch;
  uint64_t upto = 0;
  {
    std::lock_guard lock(heartbeat_mutex_);
    batch.reserve(pending_.size());
    for (auto& [id, h] : pending_) batch.push_back(std::move(h));
    pending_.clear();
    upto = queued_;
  }
  auto written = store_.RecordHeartbeats(batch);
  {
    std::lock_guard lock(heartbeat_mutex_);
    flushed_ = upto;
    if (!written)
      flush_error_ = written.error();
    else
      flush_error_.reset();
  }
  flushed_wakeup_.notify_all();
  return written;
}

}  // namespace lifeboat::controller
