// lifeboatctl machine list | show | boot-recovery | revoke, and fleet summary.
#include <iostream>
#include <map>
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

int List(Context& ctx, const std::vector<std::string>& labels) {
  v1::ListMachinesRequest request;
  for (const auto& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0)
      return Usage("--label '" + label + "' is not KEY=VALUE");
    (*request.mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::ListMachinesResponse response;
  auto s = stub->ListMachines(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : response.machines()) {
    rows.push_back({m.id(), m.hostname(),
                    m.installed_version().empty() ? "-" : m.installed_version(),
                    AgentStateText(m.state()) + (m.offline() ? ", offline" : ""), m.current_step(),
                    m.last_seen()});
  }
  Table({"ID", "HOSTNAME", "VERSION", "STATE", "STEP", "LAST SEEN"}, rows);
  return 0;
}

int Show(Context& ctx, const std::string& id) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::GetMachineRequest request;
  request.set_id(id);
  v1::GetMachineResponse response;
  auto s = stub->GetMachine(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  const auto& m = response.machine();
  std::cout << "machine " << m.id() << " (" << m.hostname() << ")\n  version    "
            << (m.installed_version().empty() ? "none" : m.installed_version()) << "\n  state      "
            << AgentStateText(m.state())
            << (m.current_step().empty() ? "" : " (" + m.current_step() + ")") << "\n  last seen  "
            << m.last_seen() << (m.offline() ? " (offline)" : "") << "\n  labels    ";
  for (const auto& [k, v] : m.labels()) std::cout << " " << k << "=" << v;
  std::cout << "\n";
  for (const auto& at : response.attempts()) {
    std::cout << "\nattempt " << at.id() << " (rollout " << at.rollout_id() << ", image "
              << at.image_version() << "): " << at.state() << ", started " << at.started_at()
              << (at.finished_at().empty() ? "" : ", finished " + at.finished_at()) << "\n";
    if (!at.error().empty()) std::cout << "  error: " << at.error() << "\n";
    for (const auto& e : at.events()) {
      std::cout << "  " << e.sequence() << ". " << e.step() << " "
                << v1::StepEvent::Status_Name(e.status())
                << (e.bytes_total() ? " " + Size(e.bytes_done()) + "/" + Size(e.bytes_total()) : "")
                << (e.message().empty() ? "" : ": " + e.message()) << "\n";
    }
  }
  return 0;
}

int BootRecovery(Context& ctx, const std::string& id) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::RequestBootRecoveryRequest request;
  request.set_machine_id(id);
  v1::RequestBootRecoveryResponse response;
  auto s = stub->RequestBootRecovery(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json)
    std::cout << Json(response) << "\n";
  else
    std::cout << "requested: " << id
              << " boots into Lifeboat once, after its agent next calls in\n";
  return 0;
}

int Revoke(Context& ctx, const std::string& id) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::RevokeMachineRequest request;
  request.set_machine_id(id);
  v1::RevokeMachineResponse response;
  auto s = stub->RevokeMachine(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json)
    std::cout << Json(response) << "\n";
  else
    std::cout << "revoked: the controller refuses " << id << " from now on\n";
  return 0;
}

int Summary(Context& ctx) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::GetFleetSummaryResponse response;
  auto s = stub->GetFleetSummary(Context::Call().get(), v1::GetFleetSummaryRequest(), &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  std::cout << response.machines() << " machines (" << response.offline() << " offline), "
            << response.active_rollouts() << " unfinished rollouts\n";
  std::map<std::string, uint32_t> by_state(response.by_state().begin(), response.by_state().end());
  std::map<std::string, uint32_t> by_version(response.by_version().begin(),
                                             response.by_version().end());
  std::cout << "by state:  ";
  for (const auto& [k, v] : by_state) std::cout << " " << k << "=" << v;
  std::cout << "\nby version:";
  for (const auto& [k, v] : by_version) std::cout << " " << (k.empty() ? "none" : k) << "=" << v;
  std::cout << "\n";
  return 0;
}

}  // namespace

void AddMachineCommands(CLI::App& app, Context& ctx) {
  auto* machine =
      AddCommand(app, "machine", "the fleet's machines: list, show, boot-recovery, revoke");
  machine->require_subcommand(1);
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

  auto* fleet = AddCommand(app, "fleet", "the fleet at a glance: summary");
  fleet->require_subcommand(1);
  AddCommand(*fleet, "summary", "machines by state and version, offline, rollouts")
      ->callback([&ctx] { ctx.exit_code = Summary(ctx); });
}

}  // namespace lifeboat::ctl
