#include "controller/api_actions.h"

#include <iostream>

#include "controller/proto_convert.h"

namespace lifeboat::controller {

namespace {

// What the audit log says of a result: nothing when it succeeded, else its message.
template <typename T>
std::optional<std::string> Failure(const Result<T>& result) {
  return result ? std::nullopt : std::optional<std::string>(result.error().message);
}

}  // namespace

void RecordAction(Access& access, const ActionCaller& caller, const std::string& action,
                  const std::string& target, const std::optional<std::string>& failure) {
  const std::string shown = target.size() > 200 ? target.substr(0, 200) + "... (" +
                                                      std::to_string(target.size()) + " characters)"
                                                : target;
  if (auto r = access.Audit({0, "", caller.name, action, shown, failure ? "failed" : "ok",
                             failure.value_or(""), caller.peer});
      !r)
    std::cerr << "lifeboat-controller: " << r.error().message << std::endl;
}

const char* RolloutActionName(RolloutAction action) {
  switch (action) {
    case RolloutAction::kPause:
      return "PauseRollout";
    case RolloutAction::kResume:
      return "ResumeRollout";
    case RolloutAction::kAbort:
      return "AbortRollout";
    case RolloutAction::kRollback:
      return "RollbackRollout";
  }
  return "?";
}

Result<v1::Rollout> ApiActions::ChangeRollout(const ActionCaller& caller, RolloutAction action,
                                              uint64_t id) {
  auto changed = [&] {
    switch (action) {
      case RolloutAction::kPause:
        return fleet_.Pause(id);
      case RolloutAction::kResume:
        return fleet_.Resume(id);
      case RolloutAction::kAbort:
        return fleet_.Abort(id);
      case RolloutAction::kRollback:
        break;
    }
    return fleet_.Rollback(id);
  }();
  RecordAction(access_, caller, RolloutActionName(action), "rollout " + std::to_string(id),
               Failure(changed));
  LIFEBOAT_TRY(changed);
  v1::Rollout out;
  ToProto(*changed, &out);
  return out;
}

Result<v1::RequestBootRecoveryResponse> ApiActions::RequestBootRecovery(
    const ActionCaller& caller, const v1::RequestBootRecoveryRequest& request) {
  auto answer = [&]() -> Result<v1::RequestBootRecoveryResponse> {
    v1::RequestBootRecoveryResponse response;
    if (!request.network()) {
      auto machine = fleet_.RequestBootRecovery(request.machine_id());
      LIFEBOAT_TRY(machine);
      ToProto(*machine, response.mutable_machine());
      return response;
    }
    if (network_recovery_ == nullptr)
      return Fail(ErrorCode::kConflict,
                  "this controller serves no network boot (start it with --netboot-dir)");
    auto version = network_recovery_->Request(request.machine_id(), request.version(), caller.name,
                                              request.iso());
    LIFEBOAT_TRY(version);
    response.set_version(*version);
    auto view = fleet_.Machine(request.machine_id());
    LIFEBOAT_TRY(view);
    reads_.Fill(view->machine, response.mutable_machine());
    return response;
  }();
  RecordAction(access_, caller, "RequestBootRecovery",
               "machine " + request.machine_id() +
                   (request.network() ? " (network" +
                                            (request.version().empty() ? std::string()
                                                                       : ", " + request.version()) +
                                            (request.iso() ? ", ISO" : "") + ")"
                                      : ""),
               Failure(answer));
  return answer;
}

}  // namespace lifeboat::controller
