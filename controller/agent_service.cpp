// The AgentService: what agents call (enroll, register, heartbeat, download, report).
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
#include "controller/grpc_services.h"
#include "controller/image_stream.h"
#include "controller/proto_convert.h"
#include "proto/rollout_job.h"

namespace lifeboat::controller {

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

std::expected<std::string, grpc::Status> AgentServiceImpl::IssueAgentCertificate(
    const std::string& machine_id, const std::string& request_pem) {
  auto certificate = IssueCertificate(
      ca_, request_pem, {machine_id, {}, {}, false, true, 0, certificate_lifetime_.count()});
  if (!certificate)
    return std::unexpected(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        "certificate_request: " + certificate.error().message));
  return *certificate;
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
    auto certificate = IssueAgentCertificate(id, request->certificate_request());
    if (!certificate) return certificate.error();
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

grpc::Status AgentServiceImpl::RenewCertificate(grpc::ServerContext* context,
                                                const v1::RenewCertificateRequest* request,
                                                v1::RenewCertificateResponse* response) {
  if (auto denied = Deny(context, request->machine_id(), "RenewCertificate")) return *denied;
  const std::string& id = request->machine_id();
  auto status = [&]() -> grpc::Status {
    // A service visit's certificate lasts a day so that one copied from a RAM disk is of little
    // use: it is never turned into a long one.
    auto presented = context->auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    auto current =
        presented.empty()
            ? std::unexpected(Error{ErrorCode::kInvalidArgument, ""})
            : ReadCertificate(std::string(presented.front().data(), presented.front().size()));
    if (!current || current->not_after - current->not_before <= kServiceVisitCertificateSeconds)
      return {grpc::StatusCode::PERMISSION_DENIED,
              "a service visit's certificate is not renewed: the next visit gets its own"};
    auto certificate = IssueAgentCertificate(id, request->certificate_request());
    if (!certificate) return certificate.error();
    response->set_certificate(*certificate);
    return grpc::Status::OK;
  }();
  (void)access_.Audit({0, "", "machine " + id, "RenewCertificate", "machine " + id,
                       status.ok() ? "ok" : "denied", status.error_message(), context->peer()});
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
  if (request->has_identity()) {
    const auto& id = request->identity();
    auto identity =
        NormalizeIdentity(id.smbios_uuid(), {id.macs().begin(), id.macs().end()},
                          {id.disk_serials().begin(), id.disk_serials().end()}, "identity");
    if (!identity) return ToStatus(identity.error());
    // A machine registers even when its hardware is recorded as another machine's (an image
    // cloned with its machine id, a board swapped): the conflict goes to the audit log for an
    // operator to settle, and the identity stays with the machine that had it.
    if (auto r = admission_.RecordIdentity(m.id, *identity); !r)
      (void)access_.Audit({0, "", "machine " + m.id, "Register", "machine " + m.id,
                           "identity not recorded", r.error().message, context->peer()});
  }
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
    auto work = fleet_.HasWork(request->machine_id());
    response->set_work_pending(a.has_value() || (work && *work));
    if (!a) return;
    auto* out = response->mutable_assignment();
    out->set_attempt_id(a->attempt_id);
    out->set_rollout_id(a->rollout_id);
    out->set_reported_sequence(a->reported_sequence);
    if (a->job.kind == JobKind::kInstall)
      ToProto(a->image, out->mutable_image());
    else
      api::ToProto(a->job, out->mutable_job());
  });
}

grpc::Status AgentServiceImpl::DownloadImage(
    grpc::ServerContext* context, const v1::DownloadImageRequest* request,
    grpc::ServerWriter<v1::DownloadImageResponse>* writer) {
  if (auto denied = Deny(context, "", "DownloadImage")) return *denied;  // any enrolled machine
  auto image = fleet_.catalog().ImageBySha(request->sha256());
  if (!image) return ToStatus(image.error());
  return StreamImage(fleet_.catalog(), *image, request->offset(), context, writer);
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

grpc::Status AgentServiceImpl::SaveJournal(grpc::ServerContext* context,
                                           const v1::SaveJournalRequest* request,
                                           v1::SaveJournalResponse*) {
  if (auto denied = Deny(context, request->machine_id(), "SaveJournal")) return *denied;
  if (auto saved = admission_.SaveJournal(request->machine_id(), request->journal()); !saved)
    return ToStatus(saved.error());
  return grpc::Status::OK;
}

grpc::Status AgentServiceImpl::LoadJournal(grpc::ServerContext* context,
                                           const v1::LoadJournalRequest* request,
                                           v1::LoadJournalResponse* response) {
  if (auto denied = Deny(context, request->machine_id(), "LoadJournal")) return *denied;
  return Answer(admission_.LoadJournal(request->machine_id()),
                [&](const std::optional<std::string>& journal) {
                  response->set_found(journal.has_value());
                  if (journal) response->set_journal(*journal);
                });
}

grpc::Status AgentServiceImpl::ServiceHello(grpc::ServerContext* context,
                                            const v1::ServiceHelloRequest* request,
                                            v1::ServiceHelloResponse* response) {
  const auto& id = request->identity();
  std::string target = "machine " + id.smbios_uuid();
  auto status = [&]() -> grpc::Status {
    auto identity =
        NormalizeIdentity(id.smbios_uuid(), {id.macs().begin(), id.macs().end()},
                          {id.disk_serials().begin(), id.disk_serials().end()}, "identity");
    if (!identity) return ToStatus(identity.error());
    target = "machine " + PendingId(*identity);
    auto decision = admission_.Hello(*identity, request->computer_name(),
                                     InventoryToText(request->inventory()), context->peer());
    if (!decision) return ToStatus(decision.error());
    response->set_message(decision->message);
    response->set_heartbeat_interval_seconds(heartbeat_seconds_);
    switch (decision->outcome) {
      case VisitDecision::Outcome::kPending:
        response->set_outcome(v1::ServiceHelloResponse::OUTCOME_PENDING);
        return grpc::Status::OK;
      case VisitDecision::Outcome::kNoWork:
        response->set_outcome(v1::ServiceHelloResponse::OUTCOME_NO_WORK);
        response->set_machine_id(decision->machine_id);
        return grpc::Status::OK;
      case VisitDecision::Outcome::kService:
        break;
    }
    target = "machine " + decision->machine_id;
    if (access_.IsRevoked(decision->machine_id))
      return {grpc::StatusCode::PERMISSION_DENIED,
              "machine " + decision->machine_id + " is revoked"};
    // The certificate lasts a day: long enough for a visit, short enough that one copied from a
    // RAM disk is of little use. The next visit makes a new key and gets a new one.
    auto certificate = IssueCertificate(
        ca_, request->certificate_request(),
        {decision->machine_id, {}, {}, false, true, 0, kServiceVisitCertificateSeconds - 300});
    if (!certificate)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "certificate_request: " + certificate.error().message};
    response->set_outcome(v1::ServiceHelloResponse::OUTCOME_SERVICE);
    response->set_machine_id(decision->machine_id);
    response->set_certificate(*certificate);
    for (const auto& [k, v] : decision->labels) (*response->mutable_labels())[k] = v;
    return grpc::Status::OK;
  }();
  // Every visit, whatever came of it, is in the audit log: the help desk's "what happened?".
  const char* outcome =
      !status.ok()                                                       ? "denied"
      : response->outcome() == v1::ServiceHelloResponse::OUTCOME_PENDING ? "pending"
      : response->outcome() == v1::ServiceHelloResponse::OUTCOME_SERVICE ? "service"
                                                                         : "no work";
  (void)access_.Audit({0, "", "", "ServiceHello", target, outcome,
                       status.ok() ? response->message() : status.error_message(),
                       context->peer()});
  return status;
}

}  // namespace lifeboat::controller
