// The API's reads, answered the same over gRPC (AdminService) and HTTP (/api/v1/...): a request
// message in, its response message out. The caller has authorized the read; these only read.
#pragma once

#include "common/error.h"
#include "controller/access.h"
#include "controller/admission.h"
#include "controller/fleet.h"
#include "lifeboat/v1/admin_service.pb.h"

namespace lifeboat::controller {

class ApiReads {
 public:
  ApiReads(Fleet& fleet, Access& access, Admission& admission)
      : fleet_(fleet), access_(access), admission_(admission) {}

  [[nodiscard]] Result<v1::ListImagesResponse> ListImages(const v1::ListImagesRequest& request);
  [[nodiscard]] Result<v1::GetImageResponse> GetImage(const v1::GetImageRequest& request);
  [[nodiscard]] Result<v1::ListRolloutsResponse> ListRollouts();
  [[nodiscard]] Result<v1::GetRolloutResponse> GetRollout(const v1::GetRolloutRequest& request);
  // A page of a rollout's machines in wave order, with every wave's progress. kNotFound,
  // kInvalidArgument (page token).
  [[nodiscard]] Result<v1::ListRolloutMachinesResponse> ListRolloutMachines(
      const v1::ListRolloutMachinesRequest& request);
  // A page of machines (listing.h). kInvalidArgument for a page token of another listing.
  [[nodiscard]] Result<v1::ListMachinesResponse> ListMachines(
      const v1::ListMachinesRequest& request);
  [[nodiscard]] Result<v1::GetMachineResponse> GetMachine(const v1::GetMachineRequest& request);
  [[nodiscard]] Result<v1::GetFleetSummaryResponse> FleetSummary();
  // Machines that network-booted and are not accepted.
  [[nodiscard]] Result<v1::ListPendingMachinesResponse> ListPendingMachines();
  // A page of the audit log, newest first. kInvalidArgument for a bad page token.
  [[nodiscard]] Result<v1::ListAuditResponse> ListAudit(const v1::ListAuditRequest& request);

  // A machine as the API shows it: its record and its hardware identity.
  void Fill(const MachineRecord& machine, v1::Machine* out);

 private:
  Fleet& fleet_;
  Access& access_;
  Admission& admission_;
};

}  // namespace lifeboat::controller
