// A step event of an install attempt (download, prepare-partition, write-image, ...), as the
// agent records and sends it and the controller stores it. The wire form is lifeboat.v1.StepEvent;
// the agent's one-line form is in agent/step_event.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/enum_table.h"

namespace lifeboat {

// Where a step is. Held as this enum everywhere; its word is written only at the edges (the agent's
// event lines and outbox, the controller's store, JSON) and read back there by ParseStepStatus.
enum class StepStatus { kStarted, kProgress, kSucceeded, kFailed };

inline constexpr auto kStepStatusWords = MakeEnumTable<StepStatus, const char*>({
    {StepStatus::kStarted, "started"},
    {StepStatus::kProgress, "progress"},
    {StepStatus::kSucceeded, "succeeded"},
    {StepStatus::kFailed, "failed"},
});

inline const char* StepStatusName(StepStatus status) {
  return kStepStatusWords.To(status).value_or("started");
}

inline std::optional<StepStatus> ParseStepStatus(const std::string& word) {
  return kStepStatusWords.From(word.c_str());
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
