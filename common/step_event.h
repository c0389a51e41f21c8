// A step event of an install attempt (download, prepare-partition, write-image, ...), as the
// agent records and sends it and the controller stores it. The wire form is lifeboat.v1.StepEvent;
// the agent's one-line form is in agent/step_event.h.
#pragma once

#include <cstdint>
#include <string>

namespace lifeboat {

struct StepEvent {
  uint64_t sequence = 0;  // per attempt, from 1, given by the agent
  std::string step;
  std::string status;  // started, progress, succeeded, failed
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string message;
  std::string at;  // UTC, ISO 8601
};

}  // namespace lifeboat
