// The API's operator actions, carried out the same over gRPC (AdminService) and HTTP (the
// dashboard's POSTs): rollouts paused, resumed, aborted or rolled back, and a machine's boot
// into recovery requested. Each is recorded in the audit log with who asked, from where, and how
// it ended. The caller has authorized the action (an operator's role).
#pragma once

#include <optional>
#include <string>

#include "common/error.h"
#include "controller/access.h"
#include "controller/api_reads.h"
#include "controller/fleet.h"
#include "controller/network_recovery.h"
#include "lifeboat/v1/admin_service.pb.h"

namespace lifeboat::controller {

// Who asked for an action: the operator's name and the address they called from.
struct ActionCaller {
  std::string name;
  std::string peer;
};

// Appends one action's outcome to the audit log: ok, or failed with the message `failure`. The
// target echoes what the caller sent, so it is kept to a readable length. A failure to write
// the log is reported on stderr (the action itself has happened).
void RecordAction(Access& access, const ActionCaller& caller, const std::string& action,
                  const std::string& target, const std::optional<std::string>& failure);

enum class RolloutAction { kPause, kResume, kAbort, kRollback };
// The AdminService method an action is, as the audit log names it ("PauseRollout", ...).
const char* RolloutActionName(RolloutAction action);

class ApiActions {
 public:
  // `network_recovery` is null when the controller renders no network boot tree.
  ApiActions(Fleet& fleet, Access& access, ApiReads& reads, NetworkRecovery* network_recovery)
      : fleet_(fleet), access_(access), reads_(reads), network_recovery_(network_recovery) {}

  // The rollout as it stands after the change. kNotFound, kConflict (a state that forbids it,
  // nothing to roll back).
  [[nodiscard]] Result<v1::Rollout> ChangeRollout(const ActionCaller& caller, RolloutAction action,
                                                  uint64_t id);
  // The machine's next boot (only) starts Lifeboat; with `network`, its next network boot starts
  // the recovery image from the controller. kNotFound, kConflict (no network boot served).
  [[nodiscard]] Result<v1::RequestBootRecoveryResponse> RequestBootRecovery(
      const ActionCaller& caller, const v1::RequestBootRecoveryRequest& request);

 private:
  Fleet& fleet_;
  Access& access_;
  ApiReads& reads_;
  NetworkRecovery* network_recovery_;
};

}  // namespace lifeboat::controller
