#include "agent/contact/service_visit.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "agent/contact/contact.h"
#include "agent/contact/controller_client.h"
#include "agent/contact/daemon_state.h"
#include "agent/contact/hardware_identity.h"
#include "agent/daemon/agent_log.h"
#include "agent/daemon/stop_signals.h"
#include "agent/exit_codes.h"
#include "common/files.h"
#include "common/pki.h"
#include "common/process.h"

namespace lifeboat::agent {

namespace {

// How long a visit waits for an unreachable controller before giving up (the machine reboots
// and tries again at its next network boot).
constexpr double kGiveUpSeconds = 600;

std::string Describe(const HardwareIdentity& id) {
  std::string text = "SMBIOS UUID " + (id.smbios_uuid.empty() ? "none" : id.smbios_uuid) + ", MACs";
  for (const auto& mac : id.macs) text += " " + mac;
  if (!id.disk_serials.empty()) text += ", disks";
  for (const auto& serial : id.disk_serials) text += " " + serial;
  return text;
}

// The inventory for the controller; an empty one (and why) when no Windows disk is found: a
// machine is introduced all the same.
Inventory ReadInventoryFor(const std::string& agent, const DaemonConfig& config) {
  std::vector<std::string> argv = {agent, "inventory"};
  if (!config.disk.empty()) argv.push_back(config.disk);
  argv.insert(argv.end(), {"--state-dir", config.state_dir});
  auto run = RunProcess(argv);
  if (run && run->exit_code == 0) {
    if (auto inventory = InventoryFromJson(run->out)) return *inventory;
  }
  LogLine("no inventory: " +
          (run ? run->Summary("lifeboat-agent inventory") : run.error().message));
  return {};
}

}  // namespace

int RunServiceVisit(const DaemonConfig& config, const std::string& agent,
                    const std::string& sysfs) {
  const sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts threads: they inherit it
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  ClientTls tls;
  auto ca = ReadTextFile(config.ca);
  if (!ca) {
    LogLine("cannot read the controller's CA certificate " + config.ca);
    return kExitUsage;
  }
  tls.ca_pem = *ca;

  const HardwareIdentity identity = ReadHardwareIdentity(sysfs);
  DaemonConfig visit = config;
  visit.sysfs = sysfs;
  visit.register_windows_name = true;
  visit.journal_with_controller = true;
  LogLine("this machine: " + Describe(identity));
  const Inventory inventory = ReadInventoryFor(agent, config);
  // A key for this visit only: the certificate the controller gives for it is the visit's.
  auto key = NewPrivateKey();
  auto request = key ? NewCertificateRequest(*key, "service-visit")
                     : Result<std::string>(std::unexpected(key.error()));
  if (!request) {
    LogLine(request.error().message);
    return kExitError;
  }
  ControllerClient client(config.controller, tls);
  Result<ControllerClient::ServiceAnswer> answer = std::unexpected(Error{ErrorCode::kBusy, ""});
  for (double waited = 0, backoff = 1;; waited += backoff, backoff = std::min(backoff * 2, 30.0)) {
    answer = client.ServiceHello(identity, inventory, inventory.windows_computer_name, *request);
    if (answer || answer.error().code != ErrorCode::kBusy) break;
    if (waited >= kGiveUpSeconds) {
      LogLine("gave up: the controller at " + config.controller + " cannot be reached (" +
              answer.error().message + ")");
      return kExitError;
    }
    LogLine(answer.error().message + "; retrying in " + std::to_string(int(backoff)) + " s");
    if (!SleepUnlessStopped(stop, backoff)) return kExitError;
  }
  if (!answer) {
    LogLine("the controller refused this machine: " + answer.error().message);
    return kExitError;
  }
  using Outcome = ControllerClient::ServiceAnswer::Outcome;
  if (answer->outcome != Outcome::kService) {
    LogLine(std::string(answer->outcome == Outcome::kPending ? "visit: pending: "
                                                             : "visit: no work: ") +
            answer->message);
    return kExitOk;
  }
  LogLine("visit: service: " + answer->message);

  // From here on the visit is the resident agent's contact, with the certificate just given.
  visit.machine_id = answer->machine_id;
  for (const auto& [k, v] : answer->labels) visit.labels[k] = v;
  if (auto r = WriteFileAtomically(config.state_dir + "/agent.key", *key, 0600); !r) {
    LogLine(r.error().message);
    return kExitError;
  }
  if (auto r = WriteFileAtomically(config.state_dir + "/agent.pem", answer->certificate_pem, 0644);
      !r) {
    LogLine(r.error().message);
    return kExitError;
  }
  bool first = true;
  for (double waited = 0, backoff = 1;;) {
    ContactReport report;
    const int code = RunContact(visit, agent, first, report);
    if (code != kExitOk) return code;
    if (report.reached) {
      first = false;
      waited = 0;
      backoff = 1;
      if (!report.work_pending) break;
      // The controller has more for this machine (a retry, or a wave still closed): stay.
      const double next = std::clamp<double>(report.next_contact_seconds, 1, 10);
      if (!SleepUnlessStopped(stop, next)) return kExitError;
      continue;
    }
    if (waited >= kGiveUpSeconds) {
      LogLine("gave up: the controller went away during the visit");
      return kExitError;
    }
    if (!SleepUnlessStopped(stop, backoff)) return kExitError;
    waited += backoff;
    backoff = std::min(backoff * 2, 30.0);
  }
  LogLine("visit: done");
  return kExitOk;
}

}  // namespace lifeboat::agent
