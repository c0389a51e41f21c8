// The one-line form of a step event (common/step_event.h) in which `lifeboat-agent apply --events`
// prints events on standard error for whoever runs it (the daemon's contact, or a
// configuration-management tool following a long apply):
//   lifeboat-event STEP STATUS BYTES_DONE BYTES_TOTAL MESSAGE...
#pragma once

#include <optional>
#include <string>

#include "common/step_event.h"

namespace lifeboat::agent {

// The line without its newline; line breaks inside the message become spaces.
[[nodiscard]] std::string EventLine(const StepEvent& event);

// Nullopt for any line that is not an event line (the rest of a program's standard error).
[[nodiscard]] std::optional<StepEvent> ParseEventLine(const std::string& line);

}  // namespace lifeboat::agent
