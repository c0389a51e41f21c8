// What happens in the fleet that an operator's other systems want to hear of at once, without
// polling: a rollout halts or finishes, a machine's attempt fails, a machine waits to be accepted.
// Fleet and Admission tell a sink; controller/webhooks.h sends each on as a signed JSON POST.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace lifeboat::controller {

struct FleetEvent {
  // rollout.halted, rollout.completed, rollout.completed_with_failures, machine.failed,
  // machine.pending
  std::string type;
  uint64_t rollout_id = 0;  // 0: none
  std::string machine_id;   // a machine's id, a pending machine's pending id; "": none
  std::string message;      // the halt's reason, the outcome, the failure's error, ...
};

// Called on the thread that made the change, which may hold the fleet's locks: it must only
// record the event (WebhookSender::Notify does) and never call back into Fleet or Admission.
using FleetEventSink = std::function<void(const FleetEvent&)>;

}  // namespace lifeboat::controller
