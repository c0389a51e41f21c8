#include "agent/daemon/stop_signals.h"

#include <cerrno>
#include <chrono>
#include <cmath>

namespace lifeboat::agent {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

bool SleepUnlessStopped(const sigset_t& stop_signals, double seconds) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
  for (;;) {
    const double left = std::chrono::duration<double>(until - Clock::now()).count();
    if (left <= 0) return true;
    timespec ts{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
    siginfo_t info;
    if (sigtimedwait(&stop_signals, &info, &ts) >= 0) return false;
    if (errno == EAGAIN) return true;
    // EINTR: another signal's handler ran; sleep on for the rest.
  }
}

}  // namespace lifeboat::agent
