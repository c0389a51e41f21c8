// The agent's daemon, lifeboat-agent-daemon (`lifeboat-agent run` hands over to it): the one part
// of the agent that stays resident. It holds no network code at all. It starts a contact with the
// controller, lifeboat-agent-contact (agent/contact/contact.h), waits for it to exit, and starts
// the next one when the controller asked for it (with jitter, so a fleet's contacts spread out), or
// after a growing backoff while the controller cannot be reached.
//
// Between heartbeats only this small program is in memory, and the controller holds no connection
// for the machine. A contact that has work to do (an install) lives until the work is done.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/daemon/contact_report.h"

namespace lifeboat::agent {

// When to make the next contact, from how the last one went.
class ContactSchedule {
 public:
  explicit ContactSchedule(uint32_t seed) : random_(seed) {}

  // Seconds until the next contact. `report` is nullopt when the contact failed without one (it
  // crashed, or a fault it could not get past): that is retried like an unreachable controller.
  [[nodiscard]] double After(const std::optional<ContactReport>& report);
  // Until a contact has reached the controller, each contact registers first.
  [[nodiscard]] bool registered() const { return registered_; }
  [[nodiscard]] double period() const { return period_; }

  static constexpr double kFirstBackoff = 1;
  static constexpr double kLongestBackoff = 60;

 private:
  std::mt19937 random_;
  double period_ = 30;  // the controller's heartbeat period, once it said
  double backoff_ = kFirstBackoff;
  bool registered_ = false;
};

// Runs until SIGINT or SIGTERM (passed on to a contact in progress, which finishes what it is
// doing first). `contact` is the contact program and `contact_args` its arguments; "--register"
// is added until a contact has reached the controller. Returns the process exit code: 0 when
// stopped, else the exit code of a contact that failed for a reason retrying cannot fix (a bad
// config, a refused enrollment, no Windows disk).
int RunDaemon(const std::string& contact, const std::vector<std::string>& contact_args);

}  // namespace lifeboat::agent
