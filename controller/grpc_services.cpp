#include "controller/grpc_services.h"

#include <fcntl.h>
#include <grpc/grpc_security_constants.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "common/sha256.h"
#include "common/version.h"
#include "controller/proto_convert.h"

namespace lifeboat::controller {

namespace {

// Runs a Fleet call that returns a value and hands it to `fill`; errors become statuses.
template <typename R, typename F>
grpc::Status Answer(R&& result, F&& fill) {
  if (!result) return ToStatus(result.error());
  fill(*result);
  return grpc::Status::OK;
}

}  // namespace

// ---- AgentService ----

std::optional<grpc::Status> AgentServiceImpl::Deny(grpc::ServerContext* context,
                                                   const std::string& machine_id,
                                                   const std::string& action) {
  // Set by gRPC from a client certificate the handshake verified against the controller's CA.
  auto names = context->auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  const std::string id =
      names.empty() ? "" : std::string(names.front().data(), names.front().size());
  std::optional<grpc::Status> refusal;
  if (id.empty())
    refusal = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                           "this call needs the agent's client certificate: enroll it first "
                           "(enrollment_token in its config, from lifeboatctl token create)");
  else if (access_.IsRevoked(id))
    refusal = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "machine " + id + " is revoked");
  else if (!machine_id.empty() && machine_id != id)
    refusal = grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        "machine_id: this certificate is machine " + id + "'s, not " + machine_id + "'s");
  if (refusal)
    (void)access_.Audit({0, "", id.empty() ? "" : "machine " + id, action,
                         machine_id.empty() ? "" : "machine " + machine_id, "denied",
                         refusal->error_message(), context->peer()});
  return refusal;
}

grpc::Status AgentServiceImpl::Enroll(grpc::ServerContext* context,
                                      const v1::EnrollRequest* request,
                                      v1::EnrollResponse* response) {
  const std::string& id = request->machine_id();
  auto status = [&]() -> grpc::Status {
    if (!ValidName(id))
      return ToStatus({ErrorCode::kInvalidArgument, NotAName("machine_id", id), "machine_id"});
    if (access_.IsRevoked(id))
      return {grpc::StatusCode::PERMISSION_DENIED, "machine " + id + " is revoked"};
    // The certificate is made before the token is used, so a bad request wastes no token.
    auto certificate =
        IssueCertificate(ca_, request->certificate_request(), {id, {}, {}, false, true, 825});
    if (!certificate)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "certificate_request: " + certificate.error().message};
    auto labels = access_.UseEnrollmentToken(request->token(), id);
    if (!labels) return ToStatus(labels.error());
    response->set_certificate(*certificate);
    for (const auto& [k, v] : *labels) (*response->mutable_labels())[k] = v;
    return grpc::Status::OK;
  }();
  // Every enrollment, made or refused, is in the audit log.
  (void)access_.Audit({0, "", "", "Enroll", "machine " + id, status.ok() ? "ok" : "denied",
                       status.error_message(), context->peer()});
  return status;
}

grpc::Status AgentServiceImpl::Register(grpc::ServerContext* context,
                                        const v1::RegisterRequest* request,
                                        v1::RegisterResponse* response) {
  if (auto denied = Deny(context, request->machine_id(), "Register")) return *denied;
  MachineRecord m;
  m.id = request->machine_id();
  m.hostname = request->hostname();
  m.labels = FromProto(request->labels());
  m.inventory = InventoryToText(request->inventory());
  m.installed_version = request->inventory().installed_version();
  if (auto r = fleet_.Register(m); !r) return ToStatus(r.error());
  response->set_machine_id(m.id);
  response->set_heartbeat_interval_seconds(heartbeat_seconds_);
  return grpc::Status::OK;
}

grpc::Status AgentServiceImpl::Heartbeat(grpc::ServerContext* context,
                                         const v1::HeartbeatRequest* request,
                                         v1::HeartbeatResponse* response) {
  if (auto denied = Deny(context, request->machine_id(), "Heartbeat")) return *denied;
  const std::string inventory =
      request->has_inventory() ? InventoryToText(request->inventory()) : "";
  auto assignment =
      fleet_.Heartbeat(request->machine_id(), inventory, request->inventory().installed_version(),
                       FromProto(request->state()), request->current_step());
  if (assignment && request->boot_recovery_set()) {
    if (auto r = fleet_.BootRecoveryDone(request->machine_id()); !r) return ToStatus(r.error());
  }
  return Answer(assignment, [&](const std::optional<Assignment>& a) {
    response->set_next_heartbeat_seconds(heartbeat_seconds_);
    response->set_boot_recovery_once(fleet_.BootRecoveryPending(request->machine_id()));
    if (!a) return;
    auto* out = response->mutable_assignment();
    out->set_attempt_id(a->attempt_id);
    out->set_rollout_id(a->rollout_id);
    ToProto(a->image, out->mutable_image());
  });
}

grpc::Status AgentServiceImpl::DownloadImage(
    grpc::ServerContext* context, const v1::DownloadImageRequest* request,
    grpc::ServerWriter<v1::DownloadImageResponse>* writer) {
  if (auto denied = Deny(context, "", "DownloadImage")) return *denied;  // any enrolled machine
  auto image = fleet_.catalog().ImageBySha(request->sha256());
  if (!image) return ToStatus(image.error());
  if (request->offset() > image->size) {
    return {grpc::StatusCode::OUT_OF_RANGE, "offset: " + std::to_string(request->offset()) +
                                                " is beyond the image's " +
                                                std::to_string(image->size) + " bytes"};
  }
  const int fd = open(image->blob_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {grpc::StatusCode::INTERNAL, "the image's bytes are missing from the controller"};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  uint64_t offset = request->offset();
  bool first = true;
  v1::DownloadImageResponse message;
  do {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "the agent went away"};
    const uint64_t end = std::min<uint64_t>(
        offset / ImageCatalog::kChunkBytes * ImageCatalog::kChunkBytes + ImageCatalog::kChunkBytes,
        image->size);
    const size_t n = static_cast<size_t>(end - offset);
    // Read straight into the message: one copy fewer per chunk.
    std::string& data = *message.mutable_data();
    data.resize(n);
    for (size_t got = 0; got < n;) {
      ssize_t r = pread(fd, data.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r <= 0) return {grpc::StatusCode::INTERNAL, "reading the image failed"};
      got += static_cast<size_t>(r);
    }
    message.set_offset(offset);
    auto prefix = fleet_.catalog().PrefixHash(*image, end);  // computed at publish
    if (!prefix)
      return {grpc::StatusCode::INTERNAL,
              "the image's prefix hashes are missing from the controller"};
    message.set_prefix_sha256(*prefix);
    // Fault injection for the tests: LIFEBOAT_TEST_CORRUPT_CHUNK=1 damages one chunk in transit,
    // once per controller process, after its hash was taken.
    static std::atomic<bool> corrupted{false};
    if (std::getenv("LIFEBOAT_TEST_CORRUPT_CHUNK") && !corrupted.exchange(true) && n > 0) {
      (*message.mutable_data())[n / 2] ^= 0x5a;
    }
    if (first) {
      message.set_total_bytes(image->size);
      message.set_sha256(image->sha256);
      first = false;
    } else {
      message.clear_total_bytes();
      message.clear_sha256();
    }
    if (!writer->Write(message)) return {grpc::StatusCode::CANCELLED, "the agent went away"};
    offset += n;
  } while (offset < image->size);
  return grpc::Status::OK;
}

grpc::Status AgentServiceImpl::ReportProgress(grpc::ServerContext* context,
                                              const v1::ReportProgressRequest* request,
                                              v1::ReportProgressResponse* response) {
  if (auto denied = Deny(context, request->machine_id(), "ReportProgress")) return *denied;
  std::vector<StepEvent> events;
  for (const auto& e : request->events()) {
    auto event = FromProto(e);
    if (!event) return ToStatus(event.error());
    events.push_back(std::move(*event));
  }
  return Answer(fleet_.Report(request->machine_id(), request->attempt_id(), events),
                [&](uint64_t highest) { response->set_acknowledged_sequence(highest); });
}

// ---- AdminService ----

grpc::Status AdminServiceImpl::PublishImage(grpc::ServerContext* context,
                                            grpc::ServerReader<v1::PublishImageRequest>* reader,
                                            v1::PublishImageResponse* response) {
  std::string target;  // the version, once the header is read
  auto caller = Caller(context, Role::kAdmin, "PublishImage");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    v1::PublishImageRequest part;
    if (!reader->Read(&part) || part.part_case() != v1::PublishImageRequest::kHeader) {
      return ToStatus(
          {ErrorCode::kInvalidArgument, "header: the first message must be the header", "header"});
    }
    target = part.header().version();
    const auto signed_by = FromProto(part.header().signed_by(), part.header().has_signed_by());
    // The same bytes again: answered at once, without the upload (the client stops sending).
    auto published =
        fleet_.catalog().Republished("header.version", part.header().version(),
                                     part.header().sha256(), part.header().size_bytes(), signed_by);
    if (!published) return ToStatus(published.error());
    if (*published) {
      ToProto(**published, response->mutable_image());
      response->set_unchanged(true);
      return grpc::Status::OK;
    }
    auto upload = fleet_.catalog().StartUpload(part.header().version(), part.header().sha256(),
                                               part.header().size_bytes(), signed_by);
    if (!upload) return ToStatus(upload.error());
    while (reader->Read(&part)) {
      if (part.part_case() != v1::PublishImageRequest::kChunk) {
        return ToStatus(
            {ErrorCode::kInvalidArgument, "chunk: only one header may be sent", "chunk"});
      }
      if (auto r = (*upload)->Append(part.chunk().data(), part.chunk().size()); !r)
        return ToStatus(r.error());
    }
    return Answer((*upload)->Finish(),
                  [&](const ImageRecord& i) { ToProto(i, response->mutable_image()); });
  }();
  Record(context, caller->name, "PublishImage", target, status);
  return status;
}

grpc::Status AdminServiceImpl::PublishImageFromPath(grpc::ServerContext* context,
                                                    const v1::PublishImageFromPathRequest* request,
                                                    v1::PublishImageFromPathResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "PublishImageFromPath");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(
        fleet_.catalog().PublishFromPath(request->version(), request->path(),
                                         FromProto(request->signed_by(), request->has_signed_by())),
        [&](const Published& p) {
          ToProto(p, response->mutable_image());
          response->set_unchanged(p.unchanged);
        });
  }();
  Record(context, caller->name, "PublishImageFromPath", request->version(), status);
  return status;
}

grpc::Status AdminServiceImpl::ListImages(grpc::ServerContext* context,
                                          const v1::ListImagesRequest* request,
                                          v1::ListImagesResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListImages"); !caller) return caller.error();
  return Answer(fleet_.catalog().Images(request->include_retired()),
                [&](const std::vector<ImageRecord>& images) {
                  for (const auto& i : images) ToProto(i, response->add_images());
                });
}

grpc::Status AdminServiceImpl::GetImage(grpc::ServerContext* context,
                                        const v1::GetImageRequest* request,
                                        v1::GetImageResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetImage"); !caller) return caller.error();
  return Answer(fleet_.catalog().Image(request->version()),
                [&](const ImageRecord& i) { ToProto(i, response->mutable_image()); });
}

grpc::Status AdminServiceImpl::RetireImage(grpc::ServerContext* context,
                                           const v1::RetireImageRequest* request,
                                           v1::RetireImageResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "RetireImage");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.catalog().RetireImage(request->version()),
                  [&](const ImageRecord& i) { ToProto(i, response->mutable_image()); });
  }();
  Record(context, caller->name, "RetireImage", request->version(), status);
  return status;
}

grpc::Status AdminServiceImpl::CreateRollout(grpc::ServerContext* context,
                                             const v1::CreateRolloutRequest* request,
                                             v1::CreateRolloutResponse* response) {
  auto caller = Caller(context, Role::kOperator, "CreateRollout");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    auto spec = FromProto(request->spec());
    if (!spec) return ToStatus(spec.error());
    return Answer(fleet_.CreateRollout(*spec),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  Record(context, caller->name, "CreateRollout", "image " + request->spec().image_version(),
         status);
  return status;
}

grpc::Status AdminServiceImpl::ListRollouts(grpc::ServerContext* context,
                                            const v1::ListRolloutsRequest*,
                                            v1::ListRolloutsResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListRollouts"); !caller) return caller.error();
  return Answer(fleet_.Rollouts(), [&](const std::vector<RolloutView>& all) {
    for (const auto& r : all) ToProto(r, response->add_rollouts());
  });
}

grpc::Status AdminServiceImpl::GetRollout(grpc::ServerContext* context,
                                          const v1::GetRolloutRequest* request,
                                          v1::GetRolloutResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetRollout"); !caller) return caller.error();
  return Answer(fleet_.Rollout(request->id()),
                [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
}

grpc::Status AdminServiceImpl::PauseRollout(grpc::ServerContext* context,
                                            const v1::PauseRolloutRequest* request,
                                            v1::PauseRolloutResponse* response) {
  auto caller = Caller(context, Role::kOperator, "PauseRollout");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.Pause(request->id()),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  Record(context, caller->name, "PauseRollout", "rollout " + std::to_string(request->id()), status);
  return status;
}

grpc::Status AdminServiceImpl::ResumeRollout(grpc::ServerContext* context,
                                             const v1::ResumeRolloutRequest* request,
                                             v1::ResumeRolloutResponse* response) {
  auto caller = Caller(context, Role::kOperator, "ResumeRollout");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.Resume(request->id()),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  Record(context, caller->name, "ResumeRollout", "rollout " + std::to_string(request->id()),
         status);
  return status;
}

grpc::Status AdminServiceImpl::AbortRollout(grpc::ServerContext* context,
                                            const v1::AbortRolloutRequest* request,
                                            v1::AbortRolloutResponse* response) {
  auto caller = Caller(context, Role::kOperator, "AbortRollout");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.Abort(request->id()),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  Record(context, caller->name, "AbortRollout", "rollout " + std::to_string(request->id()), status);
  return status;
}

grpc::Status AdminServiceImpl::RollbackRollout(grpc::ServerContext* context,
                                               const v1::RollbackRolloutRequest* request,
                                               v1::RollbackRolloutResponse* response) {
  auto caller = Caller(context, Role::kOperator, "RollbackRollout");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.Rollback(request->id()),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  Record(context, caller->name, "RollbackRollout", "rollout " + std::to_string(request->id()),
         status);
  return status;
}

grpc::Status AdminServiceImpl::ListMachines(grpc::ServerContext* context,
                                            const v1::ListMachinesRequest* request,
                                            v1::ListMachinesResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListMachines"); !caller) return caller.error();
  return Answer(fleet_.Machines(FromProto(request->labels())),
                [&](const std::vector<MachineRecord>& all) {
                  for (const auto& m : all) ToProto(m, response->add_machines());
                });
}

grpc::Status AdminServiceImpl::GetMachine(grpc::ServerContext* context,
                                          const v1::GetMachineRequest* request,
                                          v1::GetMachineResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetMachine"); !caller) return caller.error();
  return Answer(fleet_.Machine(request->id()), [&](const MachineView& v) {
    ToProto(v.machine, response->mutable_machine());
    for (const auto& a : v.attempts) ToProto(a, response->add_attempts());
  });
}

grpc::Status AdminServiceImpl::RequestBootRecovery(grpc::ServerContext* context,
                                                   const v1::RequestBootRecoveryRequest* request,
                                                   v1::RequestBootRecoveryResponse* response) {
  auto caller = Caller(context, Role::kOperator, "RequestBootRecovery");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    return Answer(fleet_.RequestBootRecovery(request->machine_id()),
                  [&](const MachineRecord& m) { ToProto(m, response->mutable_machine()); });
  }();
  Record(context, caller->name, "RequestBootRecovery", "machine " + request->machine_id(), status);
  return status;
}

grpc::Status AdminServiceImpl::GetFleetSummary(grpc::ServerContext* context,
                                               const v1::GetFleetSummaryRequest*,
                                               v1::GetFleetSummaryResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetFleetSummary"); !caller)
    return caller.error();
  return Answer(fleet_.Summary(), [&](const FleetSummary& s) {
    response->set_machines(s.machines);
    for (const auto& [k, v] : s.by_state) (*response->mutable_by_state())[k] = v;
    for (const auto& [k, v] : s.by_version) (*response->mutable_by_version())[k] = v;
    response->set_active_rollouts(s.active_rollouts);
    response->set_offline(s.offline);
  });
}

std::expected<OperatorRecord, grpc::Status> AdminServiceImpl::Caller(grpc::ServerContext* context,
                                                                     Role needed,
                                                                     const std::string& action) {
  std::string authorization;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end())
    authorization.assign(it->second.data(), it->second.size());
  auto who = access_.Identify(authorization);
  Result<void> allowed = who ? Access::Allow(*who, needed) : std::unexpected(who.error());
  if (allowed) return *who;
  (void)access_.Audit({0, "", who ? who->name : "", action, "", "denied", allowed.error().message,
                       context->peer()});
  return std::unexpected(ToStatus(allowed.error()));
}

void AdminServiceImpl::Record(grpc::ServerContext* context, const std::string& who,
                              const std::string& action, const std::string& target,
                              const grpc::Status& status) {
  // The target echoes what the caller sent: kept to a readable length.
  const std::string shown = target.size() > 200 ? target.substr(0, 200) + "... (" +
                                                      std::to_string(target.size()) + " characters)"
                                                : target;
  if (auto r = access_.Audit({0, "", who, action, shown, status.ok() ? "ok" : "failed",
                              status.error_message(), context->peer()});
      !r)
    std::cerr << "lifeboat-controller: " << r.error().message << std::endl;
}

grpc::Status AdminServiceImpl::ListAudit(grpc::ServerContext* context,
                                         const v1::ListAuditRequest* request,
                                         v1::ListAuditResponse* response) {
  if (auto caller = Caller(context, Role::kAdmin, "ListAudit"); !caller) return caller.error();
  const uint32_t limit = request->limit() == 0 ? 100 : std::min(request->limit(), 10000u);
  return Answer(access_.AuditLog(limit), [&](const std::vector<AuditRecord>& entries) {
    for (const auto& e : entries) {
      auto* out = response->add_entries();
      out->set_id(e.id);
      out->set_at(e.at);
      out->set_who(e.who);
      out->set_action(e.action);
      out->set_target(e.target);
      out->set_outcome(e.outcome);
      out->set_detail(e.detail);
      out->set_peer(e.peer);
    }
  });
}

grpc::Status AdminServiceImpl::CreateOperator(grpc::ServerContext* context,
                                              const v1::CreateOperatorRequest* request,
                                              v1::CreateOperatorResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "CreateOperator");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    auto role = ParseRole(request->role());
    if (!role)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "role: '" + request->role() + "' is not viewer, operator or admin"};
    return Answer(access_.AddOperator(request->name(), *role), [&](const std::string& token) {
      response->mutable_operator_()->set_name(request->name());
      response->mutable_operator_()->set_role(RoleName(*role));
      response->set_token(token);
    });
  }();
  Record(context, caller->name, "CreateOperator",
         "operator " + request->name() + " (" + request->role() + ")", status);
  return status;
}

grpc::Status AdminServiceImpl::ListOperators(grpc::ServerContext* context,
                                             const v1::ListOperatorsRequest*,
                                             v1::ListOperatorsResponse* response) {
  if (auto caller = Caller(context, Role::kAdmin, "ListOperators"); !caller) return caller.error();
  return Answer(access_.Operators(), [&](const std::vector<OperatorRecord>& all) {
    for (const auto& op : all) {
      auto* out = response->add_operators();
      out->set_name(op.name);
      out->set_role(RoleName(op.role));
      out->set_created_at(op.created_at);
    }
  });
}

grpc::Status AdminServiceImpl::RemoveOperator(grpc::ServerContext* context,
                                              const v1::RemoveOperatorRequest* request,
                                              v1::RemoveOperatorResponse*) {
  auto caller = Caller(context, Role::kAdmin, "RemoveOperator");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    if (auto r = access_.RemoveOperator(request->name()); !r) return ToStatus(r.error());
    return grpc::Status::OK;
  }();
  Record(context, caller->name, "RemoveOperator", "operator " + request->name(), status);
  return status;
}

grpc::Status AdminServiceImpl::CreateEnrollmentToken(
    grpc::ServerContext* context, const v1::CreateEnrollmentTokenRequest* request,
    v1::CreateEnrollmentTokenResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "CreateEnrollmentToken");
  if (!caller) return caller.error();
  auto status = Answer(access_.CreateEnrollmentToken(FromProto(request->labels()),
                                                     request->expires_seconds(), caller->name),
                       [&](const Access::EnrollmentToken& t) {
                         response->set_token(t.token);
                         response->set_expires_at(t.expires_at);
                       });
  Record(context, caller->name, "CreateEnrollmentToken", "expires " + response->expires_at(),
         status);
  return status;
}

grpc::Status AdminServiceImpl::RevokeMachine(grpc::ServerContext* context,
                                             const v1::RevokeMachineRequest* request,
                                             v1::RevokeMachineResponse*) {
  auto caller = Caller(context, Role::kAdmin, "RevokeMachine");
  if (!caller) return caller.error();
  grpc::Status status = grpc::Status::OK;
  if (!ValidName(request->machine_id()))
    status = ToStatus(
        {ErrorCode::kInvalidArgument, NotAName("machine_id", request->machine_id()), "machine_id"});
  else if (auto r = access_.Revoke(request->machine_id(), caller->name); !r)
    status = ToStatus(r.error());
  Record(context, caller->name, "RevokeMachine", "machine " + request->machine_id(), status);
  return status;
}

}  // namespace lifeboat::controller
