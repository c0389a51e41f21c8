#include "controller/proto_convert.h"

#include <google/protobuf/util/json_util.h>

#include "common/enum_table.h"
#include "compose/image_contents.h"
#include "proto/rollout_job.h"
#include "proto/step_status.h"

namespace lifeboat::controller {

grpc::Status ToStatus(const Error& e) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case ErrorCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case ErrorCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case ErrorCode::kConflict:
    case ErrorCode::kRefused:
    case ErrorCode::kUnsupported:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case ErrorCode::kVerification:
    case ErrorCode::kCorrupt:
      code = grpc::StatusCode::DATA_LOSS;
      break;
    case ErrorCode::kBusy:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case ErrorCode::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case ErrorCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case ErrorCode::kIo:
    case ErrorCode::kTool:
    case ErrorCode::kDatabase:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  // gRPC sends the message in trailing metadata, whose size is limited (8 KiB by default): a
  // longer one would turn into a metadata error that says nothing about the call.
  constexpr size_t kMaxMessage = 4096;
  std::string message = e.message;
  if (message.size() > kMaxMessage)
    message = message.substr(0, kMaxMessage) + "... (message cut short)";
  // The words of the JSON error shape travel in the details, so that lifeboatctl --json says
  // "refused" or "corrupt" where the gRPC code alone cannot.
  v1::ErrorDetail detail;
  detail.set_code(ErrorCodeName(e.code));
  detail.set_field(e.field);
  detail.set_reason(e.reason);
  return {code, message, detail.SerializeAsString()};
}

void ToProto(const ImageRecord& in, v1::Image* out) {
  out->set_version(in.version);
  out->set_sha256(in.sha256);
  out->set_size_bytes(in.size);
  out->set_name(in.name);
  out->set_description(in.description);
  out->set_architecture(in.architecture);
  out->set_boot_index(in.boot_index);
  out->set_file_count(in.file_count);
  out->set_has_winload_efi(in.has_winload_efi);
  out->set_has_winload_exe(in.has_winload_exe);
  out->set_has_boot_sdi(in.has_boot_sdi);
  out->set_published_at(in.published_at);
  out->set_retired(in.retired);
  out->set_expires(in.expires);
  // The catalog checked the manifest when the image was published; one it could not read then
  // would not be here.
  if (auto contents = compose::ParseImageContents(in.build_manifest);
      !in.build_manifest.empty() && contents) {
    v1::ImageContents* c = out->mutable_contents();
    for (const auto& tool : contents->tools) c->add_tools(tool);
    for (const auto& driver : contents->drivers) {
      v1::ImageDriver* d = c->add_drivers();
      d->set_inf(driver.inf);
      for (const auto& arch : driver.architectures) d->add_architectures(arch);
      d->set_driver_class(driver.driver_class);
    }
    for (const auto& file : contents->files) c->add_files(file);
    c->set_startup_run(contents->startup_run);
    c->set_contents_sha256(in.contents_sha256);
  }
  if (!in.signature.manifest.empty()) {
    out->mutable_signature()->set_manifest(in.signature.manifest);
    out->mutable_signature()->set_signature(in.signature.signature);
    out->mutable_signature()->set_key_id(in.signature.key_id);
  }
}

std::optional<SignedBy> FromProto(const v1::SignedBy& in, bool present) {
  if (!present) return std::nullopt;
  return SignedBy{{in.signature().manifest(), in.signature().signature(), in.signature().key_id()},
                  in.public_key()};
}

namespace {

v1::RolloutState ToProto(RolloutState s) {
  switch (s) {
    case RolloutState::kActive:
      return v1::ROLLOUT_STATE_ACTIVE;
    case RolloutState::kPaused:
      return v1::ROLLOUT_STATE_PAUSED;
    case RolloutState::kHalted:
      return v1::ROLLOUT_STATE_HALTED;
    case RolloutState::kCompleted:
      return v1::ROLLOUT_STATE_COMPLETED;
    case RolloutState::kAborted:
      return v1::ROLLOUT_STATE_ABORTED;
    case RolloutState::kCompletedWithFailures:
      return v1::ROLLOUT_STATE_COMPLETED_WITH_FAILURES;
  }
  return v1::ROLLOUT_STATE_UNSPECIFIED;
}

}  // namespace

void ToProto(const RolloutView& in, v1::Rollout* out) {
  const RolloutRecord& r = in.rollout;
  out->set_id(r.id);
  auto* spec = out->mutable_spec();
  spec->set_image_version(r.spec.image_version);
  api::ToProto(r.spec.job, spec->mutable_job());
  spec->mutable_selector()->set_all(r.spec.selector.all);
  for (const auto& [k, v] : r.spec.selector.labels)
    (*spec->mutable_selector()->mutable_labels())[k] = v;
  for (const auto& id : r.spec.selector.machine_ids) spec->mutable_selector()->add_machine_ids(id);
  for (const auto& w : r.spec.waves) {
    auto* wave = spec->add_waves();
    if (w.percent)
      wave->set_percent(w.value);
    else
      wave->set_count(w.value);
  }
  spec->set_wait_between_waves_seconds(static_cast<uint32_t>(r.spec.wait_between_waves.count()));
  spec->set_max_in_progress(r.spec.max_in_progress);
  spec->set_failure_threshold_percent(r.spec.failure_threshold_percent);
  spec->set_max_retries(r.spec.max_retries);
  spec->set_allow_unsigned(r.spec.allow_unsigned);
  spec->set_machine_deadline_seconds(static_cast<uint32_t>(r.spec.machine_deadline.count()));
  out->set_state(ToProto(r.state));
  auto* p = out->mutable_progress();
  uint32_t targeted = r.wave_ends.empty() ? 0 : r.wave_ends.back();
  p->set_targeted(targeted);
  p->set_pending(in.evaluation.pending);
  p->set_in_progress(in.evaluation.in_progress);
  p->set_succeeded(in.evaluation.succeeded);
  p->set_failed(in.evaluation.failed);
  p->set_current_wave(in.evaluation.open_wave);
  p->set_skipped(in.evaluation.skipped);
  out->set_created_at(r.created_at);
  out->set_message(r.message);
  out->set_rollback_of(r.rollback_of);
}

void ToProto(const MachineRecord& in, v1::Machine* out) {
  out->set_id(in.id);
  out->set_hostname(in.hostname);
  for (const auto& [k, v] : in.labels) (*out->mutable_labels())[k] = v;
  InventoryFromText(in.inventory, out->mutable_inventory());
  out->set_installed_version(in.installed_version);
  out->set_state(ToProto(in.state));
  out->set_current_step(in.current_step);
  out->set_last_seen(in.last_seen);
  out->set_registered_at(in.registered_at);
  out->set_boot_recovery_pending(in.boot_recovery_pending);
  out->set_offline(in.offline);
}

void ToProto(const MachineIdentity& in, v1::MachineIdentity* out) {
  out->set_smbios_uuid(in.smbios_uuid);
  for (const auto& mac : in.macs) out->add_macs(mac);
  for (const auto& serial : in.disk_serials) out->add_disk_serials(serial);
}

void ToProto(const StepEvent& in, v1::StepEvent* out) {
  out->set_sequence(in.sequence);
  out->set_step(in.step);
  out->set_status(api::ToProto(in.status));
  out->set_bytes_done(in.bytes_done);
  out->set_bytes_total(in.bytes_total);
  out->set_message(in.message);
  out->set_at(in.at);
}

void ToProto(const AttemptRecord& in, v1::Attempt* out) {
  out->set_id(in.id);
  out->set_rollout_id(in.rollout_id);
  out->set_image_version(in.image_version);
  out->set_job(api::ToProto(in.job));
  out->set_state(MemberStateName(in.state));
  out->set_started_at(in.started_at);
  out->set_finished_at(in.finished_at);
  out->set_error(in.error);
  for (const auto& e : in.events) ToProto(e, out->add_events());
}

Result<RolloutSpec> FromProto(const v1::RolloutSpec& in) {
  RolloutSpec spec;
  spec.image_version = in.image_version();
  if (in.has_job()) {
    auto job = api::FromProto(in.job());
    if (!job) return BadInput("job.kind", "job.kind: not a job this controller knows");
    spec.job = *job;
  }
  spec.selector.all = in.selector().all();
  spec.selector.labels = FromProto(in.selector().labels());
  for (const auto& id : in.selector().machine_ids()) spec.selector.machine_ids.push_back(id);
  for (int i = 0; i < in.waves_size(); ++i) {
    const auto& w = in.waves(i);
    if (w.size_case() == v1::Wave::kPercent) {
      spec.waves.push_back({true, w.percent()});
    } else if (w.size_case() == v1::Wave::kCount) {
      spec.waves.push_back({false, w.count()});
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  "waves[" + std::to_string(i) + "]: give percent or count");
    }
  }
  spec.wait_between_waves = std::chrono::seconds(in.wait_between_waves_seconds());
  spec.max_in_progress = in.max_in_progress();
  // Unset fields keep the domain's safe defaults (a 10 % threshold, a day's deadline).
  if (in.has_failure_threshold_percent())
    spec.failure_threshold_percent = in.failure_threshold_percent();
  spec.max_retries = in.max_retries();
  spec.allow_unsigned = in.allow_unsigned();
  if (in.has_machine_deadline_seconds())
    spec.machine_deadline = std::chrono::seconds(in.machine_deadline_seconds());
  LIFEBOAT_TRY(ValidateSpec(spec));
  return spec;
}

Result<StepEvent> FromProto(const v1::StepEvent& in) {
  StepEvent e;
  e.sequence = in.sequence();
  e.step = in.step();
  auto status = api::FromProto(in.status());
  if (!status)
    return BadInput("events.status", "events.status: event " + std::to_string(in.sequence()) +
                                         " of step '" + in.step() + "' has no known status");
  e.status = *status;
  e.bytes_done = in.bytes_done();
  e.bytes_total = in.bytes_total();
  e.message = in.message();
  e.at = in.at();
  return e;
}

std::map<std::string, std::string> FromProto(
    const google::protobuf::Map<std::string, std::string>& in) {
  return {in.begin(), in.end()};
}

std::string InventoryToText(const v1::Inventory& inventory) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(inventory, &text);
  return text;
}

void InventoryFromText(const std::string& text, v1::Inventory* out) {
  if (!text.empty()) (void)google::protobuf::util::JsonStringToMessage(text, out);
}

namespace {
constexpr auto kAgentStateOnTheWire = MakeEnumTable<AgentState, v1::AgentState>({
    {AgentState::kIdle, v1::AGENT_STATE_IDLE},
    {AgentState::kDownloading, v1::AGENT_STATE_DOWNLOADING},
    {AgentState::kApplying, v1::AGENT_STATE_APPLYING},
    {AgentState::kFailed, v1::AGENT_STATE_FAILED},
});
}  // namespace

AgentState FromProto(v1::AgentState state) {
  // Unspecified, or a state of a newer agent: idle.
  return kAgentStateOnTheWire.From(state).value_or(AgentState::kIdle);
}

v1::AgentState ToProto(AgentState state) {
  return kAgentStateOnTheWire.To(state).value_or(v1::AGENT_STATE_UNSPECIFIED);
}

}  // namespace lifeboat::controller
