#include "controller/metrics_text.h"

#include <array>
#include <sstream>

namespace lifeboat::controller {

namespace {

// A Prometheus label value: backslash, double quote and line feed escaped, as its text format
// requires.
std::string LabelValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string MetricsText(Fleet& fleet, const RpcMetrics& rpc, const RpcMetrics& http,
                        const std::vector<CertificateExpiry>& certificates) {
  std::ostringstream out;
  out << "# HELP lifeboat_build_info The controller's version.\n"
      << "# TYPE lifeboat_build_info gauge\n"
      << "lifeboat_build_info{version=\"" << LabelValue(LIFEBOAT_VERSION) << "\"} 1\n";
  if (auto s = fleet.Summary()) {
    out << "# HELP lifeboat_machines Machines known to the controller, by agent state.\n"
        << "# TYPE lifeboat_machines gauge\n";
    for (const auto& [state, n] : s->by_state)
      out << "lifeboat_machines{state=\"" << LabelValue(state) << "\"} " << n << "\n";
    out << "# HELP lifeboat_machines_by_version Machines by installed recovery image version.\n"
        << "# TYPE lifeboat_machines_by_version gauge\n";
    for (const auto& [version, n] : s->by_version)
      out << "lifeboat_machines_by_version{version=\"" << LabelValue(version) << "\"} " << n
          << "\n";
    out << "# HELP lifeboat_machines_offline Machines silent for longer than offline_after.\n"
        << "# TYPE lifeboat_machines_offline gauge\n"
        << "lifeboat_machines_offline " << s->offline << "\n";
  }
  if (auto ages = fleet.LastContactAges()) {
    // How long ago each machine last called in: a fleet going quiet shows before it is offline.
    static constexpr std::array<double, 8> kAges = {60,    300,   900,    3600,
                                                    21600, 86400, 604800, 2592000};
    std::array<uint64_t, kAges.size()> buckets{};
    double sum = 0;
    for (double age : *ages) {
      for (size_t i = 0; i < kAges.size(); ++i)
        if (age <= kAges[i]) ++buckets[i];
      sum += age;
    }
    out << "# HELP lifeboat_machine_last_contact_seconds Seconds since each machine last called "
           "in.\n"
        << "# TYPE lifeboat_machine_last_contact_seconds histogram\n";
    for (size_t i = 0; i < kAges.size(); ++i)
      out << "lifeboat_machine_last_contact_seconds_bucket{le=\"" << kAges[i] << "\"} "
          << buckets[i] << "\n";
    out << "lifeboat_machine_last_contact_seconds_bucket{le=\"+Inf\"} " << ages->size() << "\n"
        << "lifeboat_machine_last_contact_seconds_sum " << static_cast<uint64_t>(sum) << "\n"
        << "lifeboat_machine_last_contact_seconds_count " << ages->size() << "\n";
  }
  if (auto rollouts = fleet.Rollouts()) {
    // Unfinished rollouts only, each series keyed by the rollout alone: a label never changes
    // as the rollout moves on (its state is a value), and a finished rollout's series end.
    std::vector<const RolloutView*> open;
    for (const auto& r : *rollouts) {
      const RolloutState state = r.rollout.state;
      if (state == RolloutState::kActive || state == RolloutState::kPaused ||
          state == RolloutState::kHalted)
        open.push_back(&r);
    }
    out << "# HELP lifeboat_rollout_info An unfinished rollout: its job and image (1).\n"
        << "# TYPE lifeboat_rollout_info gauge\n";
    for (const auto* r : open)
      out << "lifeboat_rollout_info{rollout=\"" << r->rollout.id << "\",job=\""
          << JobKindName(r->rollout.spec.job.kind) << "\",image=\""
          << LabelValue(r->rollout.spec.image_version) << "\"} 1\n";
    out << "# HELP lifeboat_rollout_state An unfinished rollout's state: 0 active, 1 paused, 2 "
           "halted.\n"
        << "# TYPE lifeboat_rollout_state gauge\n";
    for (const auto* r : open)
      out << "lifeboat_rollout_state{rollout=\"" << r->rollout.id << "\"} "
          << (r->rollout.state == RolloutState::kActive   ? 0
              : r->rollout.state == RolloutState::kPaused ? 1
                                                          : 2)
          << "\n";
    out << "# HELP lifeboat_rollout_wave The wave an unfinished rollout has open (from 1).\n"
        << "# TYPE lifeboat_rollout_wave gauge\n";
    for (const auto* r : open)
      out << "lifeboat_rollout_wave{rollout=\"" << r->rollout.id << "\"} "
          << r->evaluation.open_wave + 1 << "\n";
    out << "# HELP lifeboat_rollout_machines An unfinished rollout's machines, by outcome.\n"
        << "# TYPE lifeboat_rollout_machines gauge\n";
    for (const auto* r : open) {
      const auto& e = r->evaluation;
      const std::string rollout = "rollout=\"" + std::to_string(r->rollout.id) + "\"";
      for (const auto& [outcome, n] :
           std::vector<std::pair<const char*, uint32_t>>{{"pending", e.pending},
                                                         {"in_progress", e.in_progress},
                                                         {"succeeded", e.succeeded},
                                                         {"failed", e.failed},
                                                         {"skipped", e.skipped}})
        out << "lifeboat_rollout_machines{" << rollout << ",outcome=\"" << outcome << "\"} " << n
            << "\n";
    }
  }
  // When the controller's own certificates end: an alert well before, since agents cannot reach
  // a controller whose certificate expired (docs/security.md, Certificate lifetimes).
  out << "# HELP lifeboat_certificate_expiry_timestamp_seconds When the controller's "
         "certificates expire (seconds since the epoch).\n"
      << "# TYPE lifeboat_certificate_expiry_timestamp_seconds gauge\n";
  for (const auto& c : certificates)
    out << "lifeboat_certificate_expiry_timestamp_seconds{certificate=\"" << LabelValue(c.name)
        << "\"} " << c.not_after << "\n";
  out << rpc.Prometheus() << http.Prometheus();
  return out.str();
}

}  // namespace lifeboat::controller
