// A step event of an attempt (download, prepare-partition, write-image, ...), and the one-line
// form in which `lifeboat-agent apply --events` prints events on standard error for whoever runs
// it (the daemon, or a configuration-management tool following a long apply):
//   lifeboat-event STEP STATUS BYTES_DONE BYTES_TOTAL MESSAGE...
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lifeboat::agent {

struct StepEvent {
  uint64_t sequence = 0;
  std::string step;
  std::string status;  // started, progress, succeeded, failed
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string message;
  std::string at;
};

// The line without its newline; line breaks inside the message become spaces.
[[nodiscard]] std::string EventLine(const StepEvent& event);

// Nullopt for any line that is not an event line (the rest of a program's standard error).
[[nodiscard]] std::optional<StepEvent> ParseEventLine(const std::string& line);

}  // namespace lifeboat::agent
