// StepStatus (common/step_event.h) on the wire: the one conversion, for the agent's contact and
// the controller alike.
#pragma once

#include <optional>

#include "common/step_event.h"
#include "lifeboat/v1/types.pb.h"

namespace lifeboat::api {

inline v1::StepEvent::Status ToProto(StepStatus status) {
  switch (status) {
    case StepStatus::kStarted:
      return v1::StepEvent::STATUS_STARTED;
    case StepStatus::kProgress:
      return v1::StepEvent::STATUS_PROGRESS;
    case StepStatus::kSucceeded:
      return v1::StepEvent::STATUS_SUCCEEDED;
    case StepStatus::kFailed:
      return v1::StepEvent::STATUS_FAILED;
  }
  return v1::StepEvent::STATUS_UNSPECIFIED;
}

// Nothing for STATUS_UNSPECIFIED or a value this build does not know: the caller refuses the event.
inline std::optional<StepStatus> FromProto(v1::StepEvent::Status status) {
  switch (status) {
    case v1::StepEvent::STATUS_STARTED:
      return StepStatus::kStarted;
    case v1::StepEvent::STATUS_PROGRESS:
      return StepStatus::kProgress;
    case v1::StepEvent::STATUS_SUCCEEDED:
      return StepStatus::kSucceeded;
    case v1::StepEvent::STATUS_FAILED:
      return StepStatus::kFailed;
    default:
      return std::nullopt;
  }
}

}  // namespace lifeboat::api
