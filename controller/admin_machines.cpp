// AdminService: machines listed (by labels and WinRE free space) and known by their hardware, for
// the network service environment (import, pending, accept, service requests), each call
// authorized by role and recorded in the audit log.
#include "controller/grpc_services.h"
#include "controller/proto_convert.h"

namespace lifeboat::controller {

Result<std::vector<std::string>> AdminServiceImpl::MachinesShortOfWinReFree(const RolloutSpec& spec,
                                                                            uint64_t bound) {
  if (!spec.selector.machine_ids.empty())
    return BadInput("selector.winre_free_below_bytes",
                    "selector.winre_free_below_bytes: goes with all or labels, not a list of "
                    "machines");
  MachineFilter filter;
  filter.labels = spec.selector.labels;
  filter.winre_free_below_bytes = bound;
  auto found = fleet_.FindMachines(filter, "", 0);
  LIFEBOAT_TRY(found);
  if (found->machines.empty())
    return Fail(ErrorCode::kConflict,
                "selector: no matching machine reports WinRE with less than " +
                    std::to_string(bound) + " bytes free");
  std::vector<std::string> ids;
  for (const auto& m : found->machines) ids.push_back(m.id);
  return ids;
}

grpc::Status AdminServiceImpl::ListMachines(grpc::ServerContext* context,
                                            const v1::ListMachinesRequest* request,
                                            v1::ListMachinesResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListMachines"); !caller) return caller.error();
  return Answer(reads_.ListMachines(*request), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::ImportMachines(grpc::ServerContext* context,
                                              const v1::ImportMachinesRequest* request,
                                              v1::ImportMachinesResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "ImportMachines");
  if (!caller) return caller.error();
  size_t rows_read = 0;
  auto status = [&]() -> grpc::Status {
    auto rows = ParseImportCsv(request->csv());
    if (!rows) return ToStatus(rows.error());
    rows_read = rows->size();
    return Answer(admission_.Import(*rows), [&](size_t added) {
      response->set_added(static_cast<uint32_t>(added));
      response->set_updated(static_cast<uint32_t>(rows->size() - added));
    });
  }();
  Record(context, caller->name, "ImportMachines", std::to_string(rows_read) + " machines", status);
  return status;
}

grpc::Status AdminServiceImpl::ListPendingMachines(grpc::ServerContext* context,
                                                   const v1::ListPendingMachinesRequest*,
                                                   v1::ListPendingMachinesResponse* response) {
  if (auto caller = Caller(context, Role::kViewer, "ListPendingMachines"); !caller)
    return caller.error();
  return Answer(reads_.ListPendingMachines(), [&](auto& r) { *response = std::move(r); });
}

grpc::Status AdminServiceImpl::AcceptMachine(grpc::ServerContext* context,
                                             const v1::AcceptMachineRequest* request,
                                             v1::AcceptMachineResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "AcceptMachine");
  if (!caller) return caller.error();
  std::string accepted;
  auto status = [&]() -> grpc::Status {
    auto id = admission_.Accept(request->id(), request->machine_id(), FromProto(request->labels()));
    if (!id) return ToStatus(id.error());
    accepted = *id;
    return Answer(fleet_.Machine(*id), [&](const MachineView& v) {
      reads_.Fill(v.machine, response->mutable_machine());
    });
  }();
  Record(context, caller->name, "AcceptMachine",
         "pending " + request->id() + (accepted.empty() ? "" : " as machine " + accepted), status);
  return status;
}

grpc::Status AdminServiceImpl::RequestService(grpc::ServerContext* context,
                                              const v1::RequestServiceRequest* request,
                                              v1::RequestServiceResponse* response) {
  auto caller = Caller(context, Role::kOperator, "RequestService");
  if (!caller) return caller.error();
  auto status = [&]() -> grpc::Status {
    if (auto r = admission_.RequestService(request->machine_id()); !r) return ToStatus(r.error());
    return Answer(fleet_.Machine(request->machine_id()), [&](const MachineView& v) {
      reads_.Fill(v.machine, response->mutable_machine());
    });
  }();
  Record(context, caller->name, "RequestService", "machine " + request->machine_id(), status);
  return status;
}

grpc::Status AdminServiceImpl::SetMachineLabels(grpc::ServerContext* context,
                                                const v1::SetMachineLabelsRequest* request,
                                                v1::SetMachineLabelsResponse* response) {
  auto caller = Caller(context, Role::kOperator, "SetMachineLabels");
  if (!caller) return caller.error();
  const auto set = FromProto(request->labels());
  std::string change;
  for (const auto& [k, v] : set) change += " " + k + "=" + v;
  for (const auto& k : request->remove()) change += " -" + k;
  auto status =
      Answer(fleet_.ChangeLabels(request->machine_id(), set,
                                 {request->remove().begin(), request->remove().end()}),
             [&](const MachineRecord& m) { reads_.Fill(m, response->mutable_machine()); });
  Record(context, caller->name, "SetMachineLabels",
         "machine " + request->machine_id() + ":" + change, status);
  return status;
}

grpc::Status AdminServiceImpl::DeleteMachine(grpc::ServerContext* context,
                                             const v1::DeleteMachineRequest* request,
                                             v1::DeleteMachineResponse* response) {
  auto caller = Caller(context, Role::kAdmin, "DeleteMachine");
  if (!caller) return caller.error();
  auto status = Answer(fleet_.DeleteMachine(request->machine_id()), [&](uint64_t attempts) {
    response->set_attempts_deleted(static_cast<uint32_t>(attempts));
    admission_.Forget(request->machine_id());
  });
  Record(context, caller->name, "DeleteMachine",
         "machine " + request->machine_id() + " (" + std::to_string(response->attempts_deleted()) +
             " attempts)",
         status);
  return status;
}

}  // namespace lifeboat::controller
