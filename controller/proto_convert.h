// Translation between the lifeboat.v1 protobuf messages and the controller's plain values, and
// from domain errors to gRPC status codes (the one place that decides them).
#pragma once

#include <grpcpp/support/status.h>

#include "common/error.h"
#include "controller/fleet.h"
#include "controller/machine_identity.h"
#include "lifeboat/v1/admin_service.pb.h"
#include "lifeboat/v1/agent_service.pb.h"

namespace lifeboat::controller {

grpc::Status ToStatus(const Error& error);

// Runs a Fleet call that returns a value and hands it to `fill`; errors become statuses.
template <typename R, typename F>
grpc::Status Answer(R&& result, F&& fill) {
  if (!result) return ToStatus(result.error());
  fill(*result);
  return grpc::Status::OK;
}

void ToProto(const ImageRecord& in, v1::Image* out);
void ToProto(const RolloutView& in, v1::Rollout* out);
void ToProto(const MachineRecord& in, v1::Machine* out);
void ToProto(const AttemptRecord& in, v1::Attempt* out);
void ToProto(const StepEvent& in, v1::StepEvent* out);
void ToProto(const MachineIdentity& in, v1::MachineIdentity* out);

// Errors: kInvalidArgument naming the field.
[[nodiscard]] Result<RolloutSpec> FromProto(const v1::RolloutSpec& in);
[[nodiscard]] Result<StepEvent> FromProto(const v1::StepEvent& in);
// The signature offered with a publish, if the request carries one (`present`).
std::optional<SignedBy> FromProto(const v1::SignedBy& in, bool present);
std::map<std::string, std::string> FromProto(
    const google::protobuf::Map<std::string, std::string>& in);

// The inventory as the store keeps it: protobuf's JSON form (readable, and text for any SQL).
std::string InventoryToText(const v1::Inventory& inventory);
void InventoryFromText(const std::string& text, v1::Inventory* out);

// An agent's state on the wire; unspecified (or a newer agent's state) reads as idle.
AgentState FromProto(v1::AgentState state);
v1::AgentState ToProto(AgentState state);

}  // namespace lifeboat::controller
