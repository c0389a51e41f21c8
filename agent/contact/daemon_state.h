// What the daemon keeps across restarts, in its own SQLite file (state_dir/daemon.db): the outbox
// of step events for the controller, kept until it acknowledges them (so reports survive the
// controller being down and the agent restarting), and a few named values (the machine id, the
// attempts it finished).
//
// This is the one place that uses SQLite's C API rather than Poco::Data: the daemon is linked
// statically to stay small between heartbeats, and Debian ships no static Poco.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/step_event.h"
#include "common/error.h"

struct sqlite3;

namespace lifeboat::agent {

class DaemonState {
 public:
  // Creates the file and its tables if needed. Errors: kIo naming the file.
  [[nodiscard]] static Result<std::unique_ptr<DaemonState>> Open(const std::string& path);
  ~DaemonState();
  DaemonState(const DaemonState&) = delete;
  DaemonState& operator=(const DaemonState&) = delete;

  // Gives the event the attempt's next sequence number and its time, and returns it as stored.
  // Sequences continue after the floor set for the attempt, if higher than what the outbox holds.
  [[nodiscard]] Result<StepEvent> QueueEvent(uint64_t attempt_id, StepEvent event);
  // The controller holds events of the attempt up to `sequence` (ones this state never saw: it was
  // lost with a RAM disk): the next event is numbered after it.
  [[nodiscard]] Result<void> RaiseSequenceFloor(uint64_t attempt_id, uint64_t sequence);
  // Per attempt, in order.
  [[nodiscard]] Result<std::vector<std::pair<uint64_t, std::vector<StepEvent>>>> UnsentEvents();
  [[nodiscard]] Result<void> MarkSent(uint64_t attempt_id, uint64_t upto);

  [[nodiscard]] Result<std::optional<std::string>> GetValue(const std::string& key);
  [[nodiscard]] Result<void> SetValue(const std::string& key, const std::string& value);

 private:
  DaemonState(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace lifeboat::agent
