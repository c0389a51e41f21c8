#include "controller/api_reads.h"

#include <algorithm>

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

Result<v1::ListRolloutMachinesResponse> ApiReads::ListRolloutMachines(
    const v1::ListRolloutMachinesRequest& request) {
  auto after = ReadPageToken("rollout-machines", request.page_token());
  LIFEBOAT_TRY(after);
  const auto first = after->empty() ? std::optional<uint64_t>(0) : ParseNumber(*after);
  if (!first) return BadInput("page_token", "page_token: not a token of a rollout's machines");
  const uint32_t size = PageSize(request.page_size(), kMachinePageSize, kMaxMachinePageSize);
  // One more than the page: the first machine past it starts the next page.
  auto page = fleet_.RolloutMachines(request.id(), static_cast<uint32_t>(*first), size + 1);
  LIFEBOAT_TRY(page);
  const std::vector<uint32_t>& ends = page->view.rollout.wave_ends;
  v1::ListRolloutMachinesResponse out;
  uint32_t start = 0;
  for (size_t w = 0; w < ends.size() && w < page->waves.size(); ++w) {
    const WaveTally& tally = page->waves[w];
    v1::WaveProgress& p = *out.add_waves();
    p.set_targeted(ends[w] - start);
    p.set_skipped(tally.Of(MemberOutcome::kSkipped));
    p.set_in_progress(tally.Of(MemberOutcome::kInProgress));
    p.set_succeeded(tally.Of(MemberOutcome::kSucceeded));
    p.set_failed(tally.Of(MemberOutcome::kFailed));
    p.set_pending(tally.Of(MemberOutcome::kPending));
    start = ends[w];
  }
  for (const MemberRecord& record : page->machines) {
    const Member& m = record.member;
    if (static_cast<uint32_t>(out.machines_size()) == size) {
      out.set_next_page_token(MakePageToken("rollout-machines", std::to_string(m.position)));
      break;
    }
    auto* machine = out.add_machines();
    machine->set_machine_id(m.machine_id);
    machine->set_wave(WaveOf(ends, m.position));
    machine->set_state(MemberStateName(m.state));
    machine->set_skipped(m.skipped);
    machine->set_attempts(m.attempts);
    if (m.finished_at) machine->set_finished_at(FormatTime(*m.finished_at));
    machine->set_previous_version(record.previous_version);
    machine->set_last_attempt_id(record.last_attempt_id);
  }
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

Result<v1::ListPendingMachinesResponse> ApiReads::ListPendingMachines() {
  auto pending = admission_.Pending();
  LIFEBOAT_TRY(pending);
  v1::ListPendingMachinesResponse response;
  for (const auto& p : *pending) {
    auto* out = response.add_machines();
    out->set_id(p.id);
    ToProto(p.identity, out->mutable_identity());
    out->set_computer_name(p.computer_name);
    InventoryFromText(p.inventory, out->mutable_inventory());
    out->set_first_seen(p.first_seen);
    out->set_last_seen(p.last_seen);
    out->set_visits(p.visits);
    out->set_peer(p.peer);
  }
  return response;
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
