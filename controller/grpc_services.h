// The gRPC edge: AgentService and AdminService translate protobuf to Fleet calls and back, and
// map errors to status codes through ToStatus. They hold no state and never touch disks or SQL.
#pragma once

#include <chrono>

#include "common/pki.h"
#include "controller/access.h"
#include "controller/admission.h"
#include "controller/api_actions.h"
#include "controller/api_reads.h"
#include "controller/fleet.h"
#include "controller/network_recovery.h"
#include "lifeboat/v1/admin_service.grpc.pb.h"
#include "lifeboat/v1/agent_service.grpc.pb.h"

namespace lifeboat::controller {

// Agents' client certificates last 825 days unless the controller is told otherwise (at least
// two days: anything as short as a day is taken for a service visit's, which is never renewed).
inline constexpr std::chrono::seconds kDefaultAgentCertificateLifetime{825LL * 86400};
inline constexpr std::chrono::seconds kMinAgentCertificateLifetime{2 * 86400};
// A service visit's certificate spans a day and the five minutes it is backdated by (clocks
// differ); RenewCertificate refuses any that short.
inline constexpr long long kServiceVisitCertificateSeconds = 86400 + 300;

class AgentServiceImpl final : public v1::AgentService::Service {
 public:
  // `ca` issues the agents' client certificates at enrollment and renewal, each valid for
  // `certificate_lifetime`.
  AgentServiceImpl(Fleet& fleet, Access& access, Admission& admission, KeyAndCertificate ca,
                   uint32_t heartbeat_seconds, std::chrono::seconds certificate_lifetime)
      : fleet_(fleet),
        access_(access),
        admission_(admission),
        ca_(std::move(ca)),
        heartbeat_seconds_(heartbeat_seconds),
        certificate_lifetime_(certificate_lifetime) {}
  grpc::Status Enroll(grpc::ServerContext*, const v1::EnrollRequest*, v1::EnrollResponse*) override;
  grpc::Status RenewCertificate(grpc::ServerContext*, const v1::RenewCertificateRequest*,
                                v1::RenewCertificateResponse*) override;
  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest*,
                        v1::RegisterResponse*) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest*,
                         v1::HeartbeatResponse*) override;
  grpc::Status DownloadImage(grpc::ServerContext*, const v1::DownloadImageRequest*,
                             grpc::ServerWriter<v1::DownloadImageResponse>*) override;
  grpc::Status ReportProgress(grpc::ServerContext*, const v1::ReportProgressRequest*,
                              v1::ReportProgressResponse*) override;
  grpc::Status ServiceHello(grpc::ServerContext*, const v1::ServiceHelloRequest*,
                            v1::ServiceHelloResponse*) override;
  grpc::Status SaveJournal(grpc::ServerContext*, const v1::SaveJournalRequest*,
                           v1::SaveJournalResponse*) override;
  grpc::Status LoadJournal(grpc::ServerContext*, const v1::LoadJournalRequest*,
                           v1::LoadJournalResponse*) override;

 private:
  // The refusal unless the caller shows a client certificate of a machine that is not revoked
  // and, when `machine_id` is given, is that machine's. Refusals go to the audit log.
  std::optional<grpc::Status> Deny(grpc::ServerContext* context, const std::string& machine_id,
                                   const std::string& action);
  // An agent's client certificate for the key of `request_pem` (PKCS#10), naming `machine_id`,
  // valid for certificate_lifetime_; INVALID_ARGUMENT for a request that is not one.
  std::expected<std::string, grpc::Status> IssueAgentCertificate(const std::string& machine_id,
                                                                 const std::string& request_pem);
  Fleet& fleet_;
  Access& access_;
  Admission& admission_;
  const KeyAndCertificate ca_;
  uint32_t heartbeat_seconds_;
  std::chrono::seconds certificate_lifetime_;
};

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // `network_recovery` is null when the controller renders no network boot tree.
  AdminServiceImpl(Fleet& fleet, Access& access, Admission& admission,
                   NetworkRecovery* network_recovery)
      : fleet_(fleet),
        access_(access),
        admission_(admission),
        network_recovery_(network_recovery) {}
  grpc::Status PublishImage(grpc::ServerContext*, grpc::ServerReader<v1::PublishImageRequest>*,
                            v1::PublishImageResponse*) override;
  grpc::Status PublishImageFromPath(grpc::ServerContext*, const v1::PublishImageFromPathRequest*,
                                    v1::PublishImageFromPathResponse*) override;
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest*,
                          v1::ListImagesResponse*) override;
  grpc::Status DownloadImage(grpc::ServerContext*, const v1::DownloadImageRequest*,
                             grpc::ServerWriter<v1::DownloadImageResponse>*) override;
  grpc::Status GetImage(grpc::ServerContext*, const v1::GetImageRequest*,
                        v1::GetImageResponse*) override;
  grpc::Status RetireImage(grpc::ServerContext*, const v1::RetireImageRequest*,
                           v1::RetireImageResponse*) override;
  grpc::Status CreateRollout(grpc::ServerContext*, const v1::CreateRolloutRequest*,
                             v1::CreateRolloutResponse*) override;
  grpc::Status ListRollouts(grpc::ServerContext*, const v1::ListRolloutsRequest*,
                            v1::ListRolloutsResponse*) override;
  grpc::Status GetRollout(grpc::ServerContext*, const v1::GetRolloutRequest*,
                          v1::GetRolloutResponse*) override;
  grpc::Status ListRolloutMachines(grpc::ServerContext*, const v1::ListRolloutMachinesRequest*,
                                   v1::ListRolloutMachinesResponse*) override;
  grpc::Status PauseRollout(grpc::ServerContext*, const v1::PauseRolloutRequest*,
                            v1::PauseRolloutResponse*) override;
  grpc::Status ResumeRollout(grpc::ServerContext*, const v1::ResumeRolloutRequest*,
                             v1::ResumeRolloutResponse*) override;
  grpc::Status AbortRollout(grpc::ServerContext*, const v1::AbortRolloutRequest*,
                            v1::AbortRolloutResponse*) override;
  grpc::Status RollbackRollout(grpc::ServerContext*, const v1::RollbackRolloutRequest*,
                               v1::RollbackRolloutResponse*) override;
  grpc::Status ListMachines(grpc::ServerContext*, const v1::ListMachinesRequest*,
                            v1::ListMachinesResponse*) override;
  grpc::Status GetMachine(grpc::ServerContext*, const v1::GetMachineRequest*,
                          v1::GetMachineResponse*) override;
  grpc::Status GetFleetSummary(grpc::ServerContext*, const v1::GetFleetSummaryRequest*,
                               v1::GetFleetSummaryResponse*) override;
  grpc::Status RequestBootRecovery(grpc::ServerContext*, const v1::RequestBootRecoveryRequest*,
                                   v1::RequestBootRecoveryResponse*) override;
  grpc::Status SetSiteRecoveryEntry(grpc::ServerContext*, const v1::SetSiteRecoveryEntryRequest*,
                                    v1::SiteRecoveryEntryResponse*) override;
  grpc::Status GetSiteRecoveryEntry(grpc::ServerContext*, const v1::GetSiteRecoveryEntryRequest*,
                                    v1::SiteRecoveryEntryResponse*) override;
  grpc::Status CreateOperator(grpc::ServerContext*, const v1::CreateOperatorRequest*,
                              v1::CreateOperatorResponse*) override;
  grpc::Status ListOperators(grpc::ServerContext*, const v1::ListOperatorsRequest*,
                             v1::ListOperatorsResponse*) override;
  grpc::Status RemoveOperator(grpc::ServerContext*, const v1::RemoveOperatorRequest*,
                              v1::RemoveOperatorResponse*) override;
  grpc::Status ListAudit(grpc::ServerContext*, const v1::ListAuditRequest*,
                         v1::ListAuditResponse*) override;
  grpc::Status CreateEnrollmentToken(grpc::ServerContext*, const v1::CreateEnrollmentTokenRequest*,
                                     v1::CreateEnrollmentTokenResponse*) override;
  grpc::Status ListEnrollmentTokens(grpc::ServerContext*, const v1::ListEnrollmentTokensRequest*,
                                    v1::ListEnrollmentTokensResponse*) override;
  grpc::Status RevokeEnrollmentToken(grpc::ServerContext*, const v1::RevokeEnrollmentTokenRequest*,
                                     v1::RevokeEnrollmentTokenResponse*) override;
  grpc::Status RevokeMachine(grpc::ServerContext*, const v1::RevokeMachineRequest*,
                             v1::RevokeMachineResponse*) override;
  // Machines known by their hardware (admin_machines.cpp).
  grpc::Status ImportMachines(grpc::ServerContext*, const v1::ImportMachinesRequest*,
                              v1::ImportMachinesResponse*) override;
  grpc::Status ListPendingMachines(grpc::ServerContext*, const v1::ListPendingMachinesRequest*,
                                   v1::ListPendingMachinesResponse*) override;
  grpc::Status AcceptMachine(grpc::ServerContext*, const v1::AcceptMachineRequest*,
                             v1::AcceptMachineResponse*) override;
  grpc::Status RequestService(grpc::ServerContext*, const v1::RequestServiceRequest*,
                              v1::RequestServiceResponse*) override;
  grpc::Status SetMachineLabels(grpc::ServerContext*, const v1::SetMachineLabelsRequest*,
                                v1::SetMachineLabelsResponse*) override;
  grpc::Status DeleteMachine(grpc::ServerContext*, const v1::DeleteMachineRequest*,
                             v1::DeleteMachineResponse*) override;

 private:
  // The operator behind the call, if their role allows `needed`. Otherwise the refusal is
  // recorded in the audit log (outcome denied) and returned as the status to answer with.
  std::expected<OperatorRecord, grpc::Status> Caller(grpc::ServerContext* context, Role needed,
                                                     const std::string& action);
  // Records a change's outcome (ok, or failed with the status message) in the audit log.
  void Record(grpc::ServerContext* context, const std::string& who, const std::string& action,
              const std::string& target, const grpc::Status& status);
  // One operator's change to one rollout (pause, resume, abort, roll back): authorized, applied,
  // answered with the rollout as it then stands, and recorded under `action`.
  grpc::Status ChangeRollout(grpc::ServerContext* context, RolloutAction action, uint64_t id,
                             v1::Rollout* out);
  // The machines `spec` selects (all or by labels) whose inventory reports a WinRE volume with
  // less than `bound` bytes free. kInvalidArgument with a list of machines, kConflict for none.
  [[nodiscard]] Result<std::vector<std::string>> MachinesShortOfWinReFree(const RolloutSpec& spec,
                                                                          uint64_t bound);
  Fleet& fleet_;
  Access& access_;
  Admission& admission_;
  NetworkRecovery* network_recovery_;
  ApiReads reads_{fleet_, access_, admission_};
  ApiActions actions_{fleet_, access_, reads_, network_recovery_};
};

}  // namespace lifeboat::controller
