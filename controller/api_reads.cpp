#include "controller/api_reads.h"

#include "common/units.h"
#include "controller/proto_convert.h"

namespace lifeboat::controller {

void ApiReads::Fill(const MachineRecord& machine, v1::Machine* out) {
  ToProto(machine, out);
  if (auto identity = admission_.IdentityOf(machine.id); identity && *identity) {
    ToProto((*identity)->identity, out->mutable_identity());
    out->set_service_requested((*identity)->service_requested);
  }
}

Result<v1::ListImagesResponse> ApiReads::ListImages(const v1::ListImagesRequest& request) {
  auto images = fleet_.catalog().Images(request.include_retired());
  LIFEBOAT_TRY(images);
  v1::ListImagesResponse out;
  for (const auto& i : *images) ToProto(i, out.add_images());
  return out;
}

Result<v1::GetImageResponse> ApiReads::GetImage(const v1::GetImageRequest& request) {
  auto image = fleet_.catalog().Image(request.version());
  LIFEBOAT_TRY(image);
  v1::GetImageResponse out;
  ToProto(*image, out.mutable_image());
  return out;
}

Result<v1::ListRolloutsResponse> ApiReads::ListRollouts() {
  auto rollouts = fleet_.Rollouts();
  LIFEBOAT_TRY(rollouts);
  v1::ListRolloutsResponse out;
  for (const auto& r : *rollouts) ToProto(r, out.add_rollouts());
  return out;
}

Result<v1::GetRolloutResponse> ApiReads::GetRollout(const v1::GetRolloutRequest& request) {
  auto rollout = fleet_.Rollout(request.id());
  LIFEBOAT_TRY(rollout);
  v1::GetRolloutResponse out;
  ToProto(*rollout, out.mutable_rollout());
  return out;
}

Result<v1::ListMachinesResponse> ApiReads::ListMachines(const v1::ListMachinesRequest& request) {
  auto after = ReadPageToken("machines", request.page_token());
  LIFEBOAT_TRY(after);
  MachineFilter filter;
  filter.labels = FromProto(request.labels());
  if (request.has_installed_version()) filter.installed_version = request.installed_version();
  if (request.state() != v1::AGENT_STATE_UNSPECIFIED) filter.state = FromProto(request.state());
  if (request.has_offline()) filter.offline = request.offline();
  if (request.has_winre_free_below_bytes())
    filter.winre_free_below_bytes = request.winre_free_below_bytes();
  const uint32_t size = PageSize(request.page_size(), kMachinePageSize, kMaxMachinePageSize);
  auto page = fleet_.FindMachines(filter, *after, size);
  LIFEBOAT_TRY(page);
  v1::ListMachinesResponse out;
  for (const auto& m : page->machines) Fill(m, out.add_machines());
  out.set_total_size(page->total);
  if (page->more) out.set_next_page_token(MakePageToken("machines", page->machines.back().id));
  return out;
}

Result<v1::GetMachineResponse> ApiReads::GetMachine(const v1::GetMachineRequest& request) {
  auto view = fleet_.Machine(request.id());
  LIFEBOAT_TRY(view);
  v1::GetMachineResponse out;
  Fill(view->machine, out.mutable_machine());
  for (const auto& a : view->attempts) ToProto(a, out.add_attempts());
  return out;
}

Result<v1::GetFleetSummaryResponse> ApiReads::FleetSummary() {
  auto s = fleet_.Summary();
  LIFEBOAT_TRY(s);
  v1::GetFleetSummaryResponse out;
  out.set_machines(s->machines);
  for (const auto& [k, v] : s->by_state) (*out.mutable_by_state())[k] = v;
  for (const auto& [k, v] : s->by_version) (*out.mutable_by_version())[k] = v;
  out.set_active_rollouts(s->active_rollouts);
  out.set_offline(s->offline);
  return out;
}

Result<v1::ListAuditResponse> ApiReads::ListAudit(const v1::ListAuditRequest& request) {
  auto before = ReadPageToken("audit", request.page_token());
  LIFEBOAT_TRY(before);
  const auto before_id = before->empty() ? std::optional<uint64_t>(0) : ParseNumber(*before);
  if (!before_id) return BadInput("page_token", "page_token: not a token of the audit log");
  const uint32_t size = PageSize(request.page_size() ? request.page_size() : request.limit(),
                                 kAuditPageSize, kMaxAuditPageSize);
  auto page =
      access_.AuditLog({request.who(), request.action(), request.outcome()}, *before_id, size);
  LIFEBOAT_TRY(page);
  v1::ListAuditResponse out;
  for (const auto& e : page->entries) {
    auto* entry = out.add_entries();
    entry->set_id(e.id);
    entry->set_at(e.at);
    entry->set_who(e.who);
    entry->set_action(e.action);
    entry->set_target(e.target);
    entry->set_outcome(e.outcome);
    entry->set_detail(e.detail);
    entry->set_peer(e.peer);
  }
  if (page->more)
    out.set_next_page_token(MakePageToken("audit", std::to_string(page->entries.back().id)));
  return out;
}

}  // namespace lifeboat::controller
