// lifeboatctl machine list | show | boot-recovery | revoke, and fleet summary.
#include <iostream>
#include <map>
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

std::string Labels(const v1::Machine& m);

int List(Context& ctx, const std::vector<std::string>& labels) {
  v1::ListMachinesRequest request;
  int code = 0;
  if (!ParseLabels(labels, *request.mutable_labels(), code)) return code;
  return ctx.Run<v1::ListMachinesRequest, v1::ListMachinesResponse>(
      &v1::AdminService::Stub::ListMachines, request, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& m : response.machines()) {
          rows.push_back({m.id(), m.hostname(),
                          m.installed_version().empty() ? "-" : m.installed_version(),
                          AgentStateText(m.state()) + (m.offline() ? ", offline" : ""),
                          m.current_step(), m.last_seen(), Labels(m)});
        }
        Table({"ID", "HOSTNAME", "VERSION", "STATE", "STEP", "LAST SEEN", "LABELS"}, rows);
      });
}

// "k=v k=v", sorted (protobuf maps have no order).
std::string Labels(const v1::Machine& m) {
  const std::map<std::string, std::string> sorted(m.labels().begin(), m.labels().end());
  std::string out;
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

void PrintMachine(const v1::GetMachineResponse& response) {
  const auto& m = response.machine();
  std::cout << "machine " << m.id() << " (" << m.hostname() << ")\n  version    "
            << (m.installed_version().empty() ? "none" : m.installed_version()) << "\n  state      "
            << AgentStateText(m.state())
            << (m.current_step().empty() ? "" : " (" + m.current_step() + ")") << "\n  last seen  "
            << m.last_seen() << (m.offline() ? " (offline)" : "") << "\n  labels     " << Labels(m)
            << "\n";
  if (m.boot_recovery_pending())
    std::cout << "  requested  boot into Lifeboat once, when its agent next calls in\n";
  // Attempts come newest first; they are numbered per machine, from 1 for its first.
  const int count = response.attempts_size();
  for (int i = 0; i < count; ++i) {
    const auto& at = response.attempts(i);
    std::cout << "\nattempt " << count - i << " (rollout " << at.rollout_id() << ", image "
              << at.image_version() << "): " << at.state() << ", started " << at.started_at()
              << (at.finished_at().empty() ? "" : ", finished " + at.finished_at()) << "\n";
    if (!at.error().empty()) std::cout << "  error: " << at.error() << "\n";
    for (const auto& e : at.events()) {
      std::cout << "  " << e.sequence() << ". " << e.step() << " "
                << ShortName(v1::StepEvent::Status_Name(e.status()), "STATUS_")
                << (e.bytes_total() ? " " + Size(e.bytes_done()) + "/" + Size(e.bytes_total()) : "")
                << (e.message().empty() ? "" : ": " + e.message()) << "\n";
    }
  }
}

int Show(Context& ctx, const std::string& id) {
  v1::GetMachineRequest request;
  request.set_id(id);
  return ctx.Run<v1::GetMachineRequest, v1::GetMachineResponse>(&v1::AdminService::Stub::GetMachine,
                                                                request, PrintMachine);
}

int BootRecovery(Context& ctx, const std::string& id) {
  v1::RequestBootRecoveryRequest request;
  request.set_machine_id(id);
  return ctx.Run<v1::RequestBootRecoveryRequest, v1::RequestBootRecoveryResponse>(
      &v1::AdminService::Stub::RequestBootRecovery, request, [&](const auto&) {
        std::cout << "requested: " << id
                  << " boots into Lifeboat once, after its agent next calls in\n";
      });
}

int Revoke(Context& ctx, const std::string& id) {
  v1::RevokeMachineRequest request;
  request.set_machine_id(id);
  return ctx.Run<v1::RevokeMachineRequest, v1::RevokeMachineResponse>(
      &v1::AdminService::Stub::RevokeMachine, request, [&](const auto&) {
        std::cout << "revoked: the controller refuses " << id << " from now on\n";
      });
}

int Summary(Context& ctx) {
  return ctx.Run<v1::GetFleetSummaryRequest, v1::GetFleetSummaryResponse>(
      &v1::AdminService::Stub::GetFleetSummary, {}, [](const auto& response) {
        std::cout << response.machines() << " machines (" << response.offline() << " offline), "
                  << response.active_rollouts() << " unfinished rollouts\n";
        std::map<std::string, uint32_t> by_state(response.by_state().begin(),
                                                 response.by_state().end());
        std::map<std::string, uint32_t> by_version(response.by_version().begin(),
                                                   response.by_version().end());
        std::cout << "by state:  ";
        for (const auto& [k, v] : by_state) std::cout << " " << k << "=" << v;
        std::cout << "\nby version:";
        for (const auto& [k, v] : by_version)
          std::cout << " " << (k.empty() ? "none" : k) << "=" << v;
        std::cout << "\n";
      });
}

}  // namespace

void AddMachineCommands(CLI::App& app, Context& ctx) {
  auto* machine =
      AddGroup(app, "machine", "the fleet's machines: list, show, boot-recovery, revoke");
  auto labels = std::make_shared<std::vector<std::string>>();
  auto* list = AddCommand(*machine, "list", "machines, their versions and states");
  list->add_option("--label", *labels, "only machines with this label (repeatable)")
      ->type_name("K=V");
  list->callback([&ctx, labels] { ctx.exit_code = List(ctx, *labels); });

  struct Verb {
    const char* name;
    const char* summary;
    int (*run)(Context&, const std::string&);
  };
  for (const Verb& verb : {
           Verb{"show", "one machine, with the history of every attempt and step", Show},
           Verb{"boot-recovery", "the machine's next boot (only) starts Lifeboat", BootRecovery},
           Verb{"revoke", "(admin) refuse that agent from now on", Revoke},
       }) {
    auto id = std::make_shared<std::string>();
    auto* command = AddCommand(*machine, verb.name, verb.summary);
    command->add_option("ID", *id, "the machine's id")->required()->type_name("");
    command->callback([&ctx, id, run = verb.run] { ctx.exit_code = run(ctx, *id); });
  }

  auto* fleet = AddGroup(app, "fleet", "the fleet at a glance: summary");
  AddCommand(*fleet, "summary", "machines by state and version, offline, rollouts")
      ->callback([&ctx] { ctx.exit_code = Summary(ctx); });
}

}  // namespace lifeboat::ctl
