// A step event of an install attempt (download, prepare-partition, write-image, ...), as the
// agent records and sends it and the controller stores it. The wire form is lifeboat.v1.StepEvent;
// the agent's one-line form is in agent/step_event.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat {

// Where a step is. Held as this enum everywhere; its word is written only at the edges (the agent's
// event lines and outbox, the controller's store, JSON) and read back there by ParseStepStatus.
enum class StepStatus { kStarted, kProgress, kSucceeded, kFailed };

inline const char* StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kStarted:
      return "started";
    case StepStatus::kProgress:
      return "progress";
    case StepStatus::kSucceeded:
      return "succeeded";
    case StepStatus::kFailed:
      return "failed";
  }
  return "started";
}

inline std::optional<StepStatus> ParseStepStatus(std::string_view word) {
  for (StepStatus s :
       {StepStatus::kStarted, StepStatus::kProgress, StepStatus::kSucceeded, StepStatus::kFailed})
    if (word == StepStatusName(s)) return s;
  return std::nullopt;
}

struct StepEvent {
  uint64_t sequence = 0;  // per attempt, from 1, given by the agent
  std::string step;
  StepStatus status = StepStatus::kStarted;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string message;
  std::string at;  // UTC, ISO 8601
};

}  // namespace lifeboat
