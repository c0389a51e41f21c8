// StepStatus (common/step_event.h) on the wire: the one conversion, for the agent's contact and
// the controller alike.
#pragma once

#include <optional>

#include "common/enum_table.h"
#include "common/step_event.h"
#include "lifeboat/v1/types.pb.h"

namespace lifeboat::api {

inline constexpr auto kStepStatusOnTheWire = MakeEnumTable<StepStatus, v1::StepEvent::Status>({
    {StepStatus::kStarted, v1::StepEvent::STATUS_STARTED},
    {StepStatus::kProgress, v1::StepEvent::STATUS_PROGRESS},
    {StepStatus::kSucceeded, v1::StepEvent::STATUS_SUCCEEDED},
    {StepStatus::kFailed, v1::StepEvent::STATUS_FAILED},
});

inline v1::StepEvent::Status ToProto(StepStatus status) {
  return kStepStatusOnTheWire.To(status).value_or(v1::StepEvent::STATUS_UNSPECIFIED);
}

// Nothing for STATUS_UNSPECIFIED or a value this build does not know: the caller refuses the event.
inline std::optional<StepStatus> FromProto(v1::StepEvent::Status status) {
  return kStepStatusOnTheWire.From(status);
}

}  // namespace lifeboat::api
