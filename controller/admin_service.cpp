// The AdminService: what operators call through lifeboatctl, each call authorized by role and
// recorded in the audit log.
#include <fcntl.h>
#include <grpc/grpc_security_constants.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>
#include <vector>

#include "common/sha256.h"
#include "common/version.h"
#include "controller/grpc_services.h"
#include "controller/image_stream.h"
#include "controller/proto_convert.h"
#include "proto/rollout_job.h"

namespace lifeboat::controller {

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
  return Answer(reads_.ListImages(*request), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::GetImage(grpc::ServerContext* context,
                                        const v1::GetImageRequest* request,
                                        v1::GetImageResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetImage"); !caller) return caller.error();
  return Answer(reads_.GetImage(*request), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::DownloadImage(
    grpc::ServerContext* context, const v1::DownloadImageRequest* request,
    grpc::ServerWriter<v1::DownloadImageResponse>* writer) {
  auto caller = Caller(context, Role::kOperator, "DownloadImage");
  if (!caller) return caller.error();
  std::string target = "image " + request->sha256();
  auto status = [&]() -> grpc::Status {
    auto image = fleet_.catalog().ImageBySha(request->sha256());
    if (!image) return ToStatus(image.error());
    target = "image " + image->version + " (for a boot medium)";
    return StreamImage(fleet_.catalog(), *image, request->offset(), context, writer);
  }();
  Record(context, caller->name, "DownloadImage", target, status);
  return status;
}

grpc::Status AdminServiceImpl::RetireImage(grpc::ServerContext* context,
                                           const v1::RetireImageRequest* request,
                                           v1::RetireImageResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "RetireImage");
  if (!caller) return caller.error();
  std::string detail = request->version();
  auto status = [&]() -> grpc::Status {
    auto retired = fleet_.catalog().RetireImage(request->version());
    // A retired image is served no more: the site-wide entry offering it goes too.
    if (retired && network_recovery_ != nullptr) {
      auto entry = network_recovery_->site().Current();
      if (entry && entry->version == request->version() && network_recovery_->site().Withdraw())
        detail += " (the site-wide recovery entry offering it is withdrawn)";
    }
    return Answer(std::move(retired),
                  [&](const ImageRecord& i) { ToProto(i, response->mutable_image()); });
  }();
  Record(context, caller->name, "RetireImage", detail, status);
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
    if (request->spec().selector().has_winre_free_below_bytes()) {
      auto short_of_room =
          MachinesShortOfWinReFree(*spec, request->spec().selector().winre_free_below_bytes());
      if (!short_of_room) return ToStatus(short_of_room.error());
      spec->selector = Selector{false, {}, *short_of_room};
    }
    return Answer(fleet_.CreateRollout(*spec),
                  [&](const RolloutView& r) { ToProto(r, response->mutable_rollout()); });
  }();
  // The target as asked: "image 2.1", or the job ("winre-grow --free 250MB").
  const auto& asked = request->spec();
  const auto job = asked.has_job() ? api::FromProto(asked.job()) : std::optional<RolloutJob>{};
  Record(context, caller->name, "CreateRollout",
         job && job->kind != JobKind::kInstall ? DescribeJob(*job, "")
                                               : "image " + asked.image_version(),
         status);
  return status;
}

grpc::Status AdminServiceImpl::ListRollouts(grpc::ServerContext* context,
                                            const v1::ListRolloutsRequest*,
                                            v1::ListRolloutsResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListRollouts"); !caller) return caller.error();
  return Answer(reads_.ListRollouts(), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::GetRollout(grpc::ServerContext* context,
                                          const v1::GetRolloutRequest* request,
                                          v1::GetRolloutResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetRollout"); !caller) return caller.error();
  return Answer(reads_.GetRollout(*request), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::ListRolloutMachines(grpc::ServerContext* context,
                                                   const v1::ListRolloutMachinesRequest* request,
                                                   v1::ListRolloutMachinesResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListRolloutMachines"); !caller)
    return caller.error();
  return Answer(reads_.ListRolloutMachines(*request), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::PauseRollout(grpc::ServerContext* context,
                                            const v1::PauseRolloutRequest* request,
                                            v1::PauseRolloutResponse* response) {
  return ChangeRollout(context, RolloutAction::kPause, request->id(), response->mutable_rollout());
}

grpc::Status AdminServiceImpl::ResumeRollout(grpc::ServerContext* context,
                                             const v1::ResumeRolloutRequest* request,
                                             v1::ResumeRolloutResponse* response) {
  return ChangeRollout(context, RolloutAction::kResume, request->id(), response->mutable_rollout());
}

grpc::Status AdminServiceImpl::AbortRollout(grpc::ServerContext* context,
                                            const v1::AbortRolloutRequest* request,
                                            v1::AbortRolloutResponse* response) {
  return ChangeRollout(context, RolloutAction::kAbort, request->id(), response->mutable_rollout());
}

grpc::Status AdminServiceImpl::RollbackRollout(grpc::ServerContext* context,
                                               const v1::RollbackRolloutRequest* request,
                                               v1::RollbackRolloutResponse* response) {
  return ChangeRollout(context, RolloutAction::kRollback, request->id(),
                       response->mutable_rollout());
}

grpc::Status AdminServiceImpl::ChangeRollout(grpc::ServerContext* context, RolloutAction action,
                                             uint64_t id, v1::Rollout* out) {
  auto caller = Caller(context, Role::kOperator, RolloutActionName(action));
  if (!caller) return caller.error();
  return Answer(actions_.ChangeRollout({caller->name, context->peer()}, action, id),
                [&](v1::Rollout& r) { *out = std::move(r); });
}

grpc::Status AdminServiceImpl::GetMachine(grpc::ServerContext* context,
                                          const v1::GetMachineRequest* request,
                                          v1::GetMachineResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetMachine"); !caller) return caller.error();
  return Answer(reads_.GetMachine(*request), [&](auto& r) { *response = std::move(r); });
}

namespace {

const grpc::Status kNoNetworkBoot(grpc::StatusCode::FAILED_PRECONDITION,
                                  "this controller serves no network boot (start it with "
                                  "--netboot-dir)");

void ToProto(const SiteRecoveryEntry& entry, v1::SiteRecoveryEntry* out) {
  out->set_version(entry.version);
  out->set_published_by(entry.published_by);
  out->set_published_at(entry.published_at);
  out->set_timeout_seconds(entry.timeout_seconds);
}

}  // namespace

grpc::Status AdminServiceImpl::RequestBootRecovery(grpc::ServerContext* context,
                                                   const v1::RequestBootRecoveryRequest* request,
                                                   v1::RequestBootRecoveryResponse* response) {
  auto caller = Caller(context, Role::kOperator, "RequestBootRecovery");
  if (!caller) return caller.error();
  return Answer(actions_.RequestBootRecovery({caller->name, context->peer()}, *request),
                [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::SetSiteRecoveryEntry(grpc::ServerContext* context,
                                                    const v1::SetSiteRecoveryEntryRequest* request,
                                                    v1::SiteRecoveryEntryResponse* response) {
  auto caller = Caller(context, Role::kOperator, "SetSiteRecoveryEntry");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    if (network_recovery_ == nullptr) return kNoNetworkBoot;
    SiteEntry& site = network_recovery_->site();
    auto entry = request->withdraw()
                     ? site.Withdraw()
                     : site.Publish(request->version(), request->timeout_seconds(), caller->name);
    return Answer(std::move(entry), [&](const SiteRecoveryEntry& e) {
      ToProto(e, response->mutable_recovery_entry());
    });
  }();
  Record(context, caller->name, "SetSiteRecoveryEntry",
         request->withdraw()
             ? std::string("withdraw")
             : "version " +
                   (request->version().empty() ? std::string("(newest)") : request->version()) +
                   ", menu " + std::to_string(request->timeout_seconds()) + " s",
         status);
  return status;
}

grpc::Status AdminServiceImpl::GetSiteRecoveryEntry(grpc::ServerContext* context,
                                                    const v1::GetSiteRecoveryEntryRequest*,
                                                    v1::SiteRecoveryEntryResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetSiteRecoveryEntry"); !caller)
    return caller.error();
  if (network_recovery_ == nullptr) return kNoNetworkBoot;
  return Answer(network_recovery_->site().Current(), [&](const SiteRecoveryEntry& e) {
    ToProto(e, response->mutable_recovery_entry());
  });
}

grpc::Status AdminServiceImpl::GetFleetSummary(grpc::ServerContext* context,
                                               const v1::GetFleetSummaryRequest*,
                                               v1::GetFleetSummaryResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "GetFleetSummary"); !caller)
    return caller.error();
  return Answer(reads_.FleetSummary(), [&](auto& r) { *response = std::move(r); });
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
  RecordAction(access_, {who, context->peer()}, action, target,
               status.ok() ? std::nullopt : std::optional<std::string>(status.error_message()));
}

grpc::Status AdminServiceImpl::ListAudit(grpc::ServerContext* context,
                                         const v1::ListAuditRequest* request,
                                         v1::ListAuditResponse* response) {
  if (auto caller = Caller(context, Role::kAdmin, "ListAudit"); !caller) return caller.error();
  return Answer(reads_.ListAudit(*request), [&](auto& r) { *response = std::move(r); });
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
  auto status =
      Answer(access_.CreateEnrollmentToken(FromProto(request->labels()), request->expires_seconds(),
                                           caller->name, request->uses()),
             [&](const Access::EnrollmentToken& t) {
               response->set_token(t.token);
               response->set_expires_at(t.expires_at);
               response->set_id(t.id);
             });
  Record(context, caller->name, "CreateEnrollmentToken",
         "token " + response->id() + ", " +
             (request->uses() > 1 ? std::to_string(request->uses()) + " uses" : "one use") +
             ", expires " + response->expires_at(),
         status);
  return status;
}

grpc::Status AdminServiceImpl::ListEnrollmentTokens(grpc::ServerContext* context,
                                                    const v1::ListEnrollmentTokensRequest*,
                                                    v1::ListEnrollmentTokensResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "ListEnrollmentTokens");
  if (!caller) return caller.error();
  const std::time_t now = std::time(nullptr);
  return Answer(access_.EnrollmentTokens(), [&](const std::vector<EnrollmentTokenRecord>& all) {
    for (const auto& t : all) {
      auto* out = response->add_tokens();
      out->set_id(t.id);
      std::istringstream lines(t.labels);
      for (std::string line; std::getline(lines, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos)
          (*out->mutable_labels())[line.substr(0, eq)] = line.substr(eq + 1);
      }
      const std::time_t expires = t.expires_at;
      char at[32];
      std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expires));
      out->set_expires_at(at);
      out->set_created_by(t.created_by);
      out->set_created_at(t.created_at);
      out->set_uses(t.uses);
      out->set_max_uses(t.max_uses);
      out->set_last_used_by(t.last_used_by);
      out->set_last_used_at(t.last_used_at);
      out->set_state(!t.revoked_at.empty()  ? "revoked"
                     : t.uses >= t.max_uses ? "spent"
                     : expires <= now       ? "expired"
                                            : "usable");
    }
  });
}

grpc::Status AdminServiceImpl::RevokeEnrollmentToken(
    grpc::ServerContext* context, const v1::RevokeEnrollmentTokenRequest* request,
    v1::RevokeEnrollmentTokenResponse*) {
  auto caller = Caller(context, Role::kAdmin, "RevokeEnrollmentToken");
  if (!caller) return caller.error();
  grpc::Status status = grpc::Status::OK;
  if (auto r = access_.RevokeEnrollmentToken(request->id()); !r) status = ToStatus(r.error());
  Record(context, caller->name, "RevokeEnrollmentToken", "token " + request->id(), status);
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
