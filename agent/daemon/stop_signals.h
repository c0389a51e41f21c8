// How the agent's daemon and contacts stop: SIGINT and SIGTERM are blocked and waited for, so a
// stop arrives only where the program is ready for it (a wait), never in the middle of a step.
#pragma once

#include <signal.h>

namespace lifeboat::agent {

// SIGINT and SIGTERM.
[[nodiscard]] sigset_t StopSignals();

// Sleeps up to `seconds`; returns false if a stop signal (from `stop_signals`, which must be
// blocked) arrived meanwhile.
[[nodiscard]] bool SleepUnlessStopped(const sigset_t& stop_signals, double seconds);

}  // namespace lifeboat::agent
