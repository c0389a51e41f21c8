// lifeboatctl machine list | show | boot-recovery | revoke | import | accept | service | label |
// delete, and fleet summary.
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

std::string Labels(const v1::Machine& m);

std::string Identity(const v1::MachineIdentity& identity) {
  std::string out = identity.smbios_uuid().empty() ? "no UUID" : identity.smbios_uuid();
  for (const auto& mac : identity.macs()) out += " " + mac;
  return out;
}

int ListPending(Context& ctx) {
  return ctx.Run<v1::ListPendingMachinesRequest, v1::ListPendingMachinesResponse>(
      &v1::AdminService::Stub::ListPendingMachines, {}, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& m : response.machines()) {
          std::string macs;
          for (const auto& mac : m.identity().macs()) macs += (macs.empty() ? "" : " ") + mac;
          rows.push_back({m.id(), m.computer_name().empty() ? "-" : m.computer_name(), macs,
                          std::to_string(m.visits()), m.first_seen(), m.last_seen(), m.peer()});
        }
        Table({"PENDING ID", "WINDOWS NAME", "MACS", "VISITS", "FIRST SEEN", "LAST SEEN", "FROM"},
              rows);
        if (!rows.empty())
          std::cout << "\naccept one with: lifeboatctl machine accept PENDING_ID [--as ID]\n";
      });
}

struct ListOptions {
  std::vector<std::string> labels;
  bool pending = false, offline = false, online = false;
  std::string winre_free_below, installed, state;
};

// Every page of the listing (the controller answers at most 1000 machines a call), as one.
int List(Context& ctx, const ListOptions& o) {
  if (o.pending) return ListPending(ctx);
  v1::ListMachinesRequest request;
  int code = 0;
  if (!ParseLabels(o.labels, *request.mutable_labels(), code)) return code;
  if (!o.winre_free_below.empty())
    request.set_winre_free_below_bytes(ParseSize(o.winre_free_below)->value);
  if (!o.installed.empty()) request.set_installed_version(o.installed == "none" ? "" : o.installed);
  if (!o.state.empty()) {
    v1::AgentState state = v1::AGENT_STATE_UNSPECIFIED;
    std::string upper;
    for (char c : o.state) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    v1::AgentState_Parse("AGENT_STATE_" + upper, &state);  // checked by the option's validator
    request.set_state(state);
  }
  if (o.offline || o.online) request.set_offline(o.offline);
  request.set_page_size(1000);
  auto* stub = ctx.Stub();
  if (stub == nullptr) return ctx.exit_code;
  v1::ListMachinesResponse all;
  while (true) {
    v1::ListMachinesResponse page;
    const grpc::Status status = stub->ListMachines(Context::Call().get(), request, &page);
    if (!status.ok()) return Fail(status, ctx.json);
    for (auto& m : *page.mutable_machines()) *all.add_machines() = std::move(m);
    all.set_total_size(page.total_size());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  if (ctx.json) {
    std::cout << Json(all) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : all.machines()) {
    rows.push_back({m.id(), m.hostname(),
                    m.installed_version().empty() ? "-" : m.installed_version(),
                    AgentStateText(m.state()) + (m.offline() ? ", offline" : ""), m.current_step(),
                    m.last_seen(), Labels(m)});
  }
  Table({"ID", "HOSTNAME", "VERSION", "STATE", "STEP", "LAST SEEN", "LABELS"}, rows);
  return 0;
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
  if (m.has_identity())
    std::cout << "  hardware   " << Identity(m.identity())
              << (m.identity().disk_serials().empty() ? "" : ", disks") <<
        [&] {
          std::string serials;
          for (const auto& s : m.identity().disk_serials()) serials += " " + s;
          return serials;
        }() << "\n";
  // WinRE, as the agent last read it: whether Windows' WinRE update has its 250 MB.
  const auto& inventory = m.inventory();
  if (inventory.winre_present()) {
    std::cout << "  winre      " << HumanSize(Bytes{inventory.winre_size_bytes()});
    if (inventory.has_winre_free_bytes()) {
      const Bytes free{inventory.winre_free_bytes()};
      std::cout << ", " << HumanSize(free) << " free"
                << (free.value < 250'000'000 ? " (short of the 250 MB Windows' WinRE update needs: "
                                               "`lifeboat-agent winre grow DISK --free 250MB`)"
                                             : "");
    }
    std::cout << "\n";
  }
  // BitLocker, as the agent last read it: whether a visit may change the boot configuration.
  for (const auto& disk : m.inventory().disks())
    for (const auto& p : disk.partitions()) {
      if (!p.has_bitlocker()) continue;
      std::string protectors;
      for (const auto& t : p.bitlocker().protectors())
        protectors += (protectors.empty() ? "" : ", ") + t;
      std::cout << "  bitlocker  partition " << p.number() << ": protection "
                << p.bitlocker().protection() << (protectors.empty() ? "" : " (" + protectors + ")")
                << "\n";
    }
  if (m.service_requested())
    std::cout << "  requested  boot the service environment at its next network boot\n";
  if (m.boot_recovery_pending())
    std::cout << "  requested  boot into Lifeboat once, when its agent next calls in\n";
  // Attempts come newest first; they are numbered per machine, from 1 for its first.
  const int count = response.attempts_size();
  for (int i = 0; i < count; ++i) {
    const auto& at = response.attempts(i);
    const bool install = at.job() == v1::JOB_KIND_INSTALL || at.job() == v1::JOB_KIND_UNSPECIFIED;
    std::cout << "\nattempt " << count - i << " (rollout " << at.rollout_id() << ", "
              << (install ? "image " + at.image_version()
                          : ShortName(v1::JobKind_Name(at.job()), "JOB_KIND_"))
              << "): " << at.state() << ", started " << at.started_at()
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

struct BootRecoveryOptions {
  std::string id, version;
  bool network = false;
  bool iso = false;
};

int BootRecovery(Context& ctx, const BootRecoveryOptions& o) {
  v1::RequestBootRecoveryRequest request;
  request.set_machine_id(o.id);
  request.set_network(o.network);
  request.set_version(o.version);
  request.set_iso(o.iso);
  return ctx.Run<v1::RequestBootRecoveryRequest, v1::RequestBootRecoveryResponse>(
      &v1::AdminService::Stub::RequestBootRecovery, request, [&](const auto& response) {
        if (o.network)
          std::cout << "requested: " << o.id << "'s next network boot starts recovery image "
                    << response.version() << " from the controller (once"
                    << (o.iso ? ", its ISO over HTTP" : "") << ")\n";
        else
          std::cout << "requested: " << o.id
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

int Delete(Context& ctx, const std::string& id) {
  v1::DeleteMachineRequest request;
  request.set_machine_id(id);
  return ctx.Run<v1::DeleteMachineRequest, v1::DeleteMachineResponse>(
      &v1::AdminService::Stub::DeleteMachine, request, [&](const auto& response) {
        std::cout << "deleted " << id << " and the history of its " << response.attempts_deleted()
                  << " attempts; if it calls again it starts over (machine revoke refuses it)\n";
      });
}

int Label(Context& ctx, const std::string& id, const std::vector<std::string>& labels,
          const std::vector<std::string>& remove) {
  v1::SetMachineLabelsRequest request;
  request.set_machine_id(id);
  int code = 0;
  if (!ParseLabels(labels, *request.mutable_labels(), code)) return code;
  for (const auto& key : remove) request.add_remove(key);
  return ctx.Run<v1::SetMachineLabelsRequest, v1::SetMachineLabelsResponse>(
      &v1::AdminService::Stub::SetMachineLabels, request, [&](const auto& response) {
        const std::string now = Labels(response.machine());
        std::cout << id << ": " << (now.empty() ? "no labels" : now) << "\n";
      });
}

int Service(Context& ctx, const std::string& id) {
  v1::RequestServiceRequest request;
  request.set_machine_id(id);
  return ctx.Run<v1::RequestServiceRequest, v1::RequestServiceResponse>(
      &v1::AdminService::Stub::RequestService, request, [&](const auto&) {
        std::cout << "requested: " << id
                  << " boots the service environment at its next network boot (once)\n";
      });
}

int Import(Context& ctx, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Complain({ErrorCode::kNotFound, "cannot read " + file, "FILE"}, kExitCommandLine);
  v1::ImportMachinesRequest request;
  request.set_csv(std::string{std::istreambuf_iterator<char>(in), {}});
  return ctx.Run<v1::ImportMachinesRequest, v1::ImportMachinesResponse>(
      &v1::AdminService::Stub::ImportMachines, request, [&](const auto& response) {
        std::cout << "imported " << file << ": " << response.added() << " machines added, "
                  << response.updated() << " updated\n";
      });
}

struct AcceptOptions {
  std::string id, as;
  std::vector<std::string> labels;
};

int Accept(Context& ctx, const AcceptOptions& o) {
  v1::AcceptMachineRequest request;
  request.set_id(o.id);
  request.set_machine_id(o.as);
  int code = 0;
  if (!ParseLabels(o.labels, *request.mutable_labels(), code)) return code;
  return ctx.Run<v1::AcceptMachineRequest, v1::AcceptMachineResponse>(
      &v1::AdminService::Stub::AcceptMachine, request, [&](const auto& response) {
        std::cout << "accepted: pending " << o.id << " is machine " << response.machine().id()
                  << "; its next network boot goes to its local disk unless it has work\n";
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
      AddGroup(app, "machine",
               "the fleet's machines: list, show, boot-recovery, service, import, accept, label, "
               "revoke, delete");
  auto o = std::make_shared<ListOptions>();
  auto* list = AddCommand(*machine, "list", "machines, their versions and states");
  list->add_option("--label", o->labels, "only machines with this label (repeatable)")
      ->type_name("K=V");
  list->add_option("--installed", o->installed,
                   "only machines with this version installed (none: nothing installed)")
      ->type_name("V");
  list->add_option("--state", o->state, "only machines in this state")
      ->type_name("STATE")
      ->check(CLI::IsMember({"idle", "downloading", "applying", "failed"}).description(""));
  auto* offline = list->add_flag("--offline", o->offline,
                                 "only machines silent longer than the controller's offline_after");
  list->add_flag("--online", o->online, "only machines that are not offline")->excludes(offline);
  list->add_flag("--pending", o->pending,
                 "machines that network-booted and wait to be accepted, instead");
  list->add_option("--winre-free-below", o->winre_free_below,
                   "only machines whose WinRE volume has less free space than SIZE, as their "
                   "agents last read it (250MB: those Windows' WinRE update fails on, KB5034441)")
      ->type_name("SIZE")
      ->check(SizeCheck());
  list->callback([&ctx, o] { ctx.exit_code = List(ctx, *o); });

  auto file = std::make_shared<std::string>();
  auto* import = AddCommand(*machine, "import",
                            "(admin) pre-authorize machines by their hardware, from a CSV file");
  import->footer(
      "The CSV's header names the columns id,smbios_uuid,macs,name,labels (any order; other "
      "columns are ignored), as a CMDB or ConfigMgr export has them: MACs and k=v labels "
      "separated by spaces, fields quoted as spreadsheets write them. All or nothing: an error "
      "names its line and adds no machine. Importing again updates the machines listed.");
  import->add_option("FILE", *file, "the CSV file")->required()->type_name("");
  import->callback([&ctx, file] { ctx.exit_code = Import(ctx, *file);
});

auto accept_options = std::make_shared<AcceptOptions>();
auto* accept = AddCommand(*machine, "accept",
                          "(admin) trust a pending machine (lifeboatctl machine list --pending)");
accept->add_option("PENDING_ID", accept_options->id, "its pending id (its SMBIOS UUID or MAC)")
    ->required()
    ->type_name("");
accept
    ->add_option("--as", accept_options->as,
                 "its machine id (default: its Windows computer name in lower case, else its "
                 "pending id)")
    ->type_name("ID");
accept->add_option("--label", accept_options->labels, "a label it gets (repeatable)")
    ->type_name("K=V");
accept->callback([&ctx, accept_options] { ctx.exit_code = Accept(ctx, *accept_options); });

struct Verb {
  const char* name;
  const char* summary;
  int (*run)(Context&, const std::string&);
};
for (const Verb& verb : {
         Verb{"show", "one machine, with the history of every attempt and step", Show},
         Verb{"service",
              "the machine's next network boot starts the service environment (once), even "
              "without an assignment",
              Service},
         Verb{"revoke", "(admin) refuse that agent from now on", Revoke},
         Verb{"delete",
              "(admin) forget the machine and its history (not while a rollout holds it); "
              "one that calls again starts over",
              Delete},
     }) {
  auto id = std::make_shared<std::string>();
  auto* command = AddCommand(*machine, verb.name, verb.summary);
  command->add_option("ID", *id, "the machine's id")->required()->type_name("");
  command->callback([&ctx, id, run = verb.run] { ctx.exit_code = run(ctx, *id); });
}

auto recovery = std::make_shared<BootRecoveryOptions>();
auto* boot_recovery =
    AddCommand(*machine, "boot-recovery", "the machine's next boot (only) starts Lifeboat");
boot_recovery->add_option("ID", recovery->id, "the machine's id")->required()->type_name("");
boot_recovery->add_flag(
    "--network", recovery->network,
    "its next network boot (only) starts the recovery image from the controller, for a machine "
    "whose disk does not start (it needs a hardware identity, and the controller a network boot "
    "tree); without it, its agent sets the disk's next boot at its next call");
boot_recovery
    ->add_option("--image", recovery->version,
                 "with --network: the published version to start (default: the newest)")
    ->type_name("VERSION");
boot_recovery->add_flag(
    "--iso", recovery->iso,
    "with --network: boot the image's ISO over HTTP as a CD, through iPXE (BIOS machines; the "
    "controller needs --netboot-http), instead of its boot managers over TFTP");
boot_recovery->callback([&ctx, recovery] {
  if ((!recovery->version.empty() || recovery->iso) && !recovery->network) {
    std::cerr << "lifeboatctl: --image and --iso choose what a network boot starts: add "
                 "--network\n";
    ctx.exit_code = kExitUsage;
    return;
  }
  ctx.exit_code = BootRecovery(ctx, *recovery);
});

struct LabelOptions {
  std::string id;
  std::vector<std::string> labels, remove;
};
auto l = std::make_shared<LabelOptions>();
auto* label = AddCommand(*machine, "label",
                         "change a machine's labels: they are kept over what its agent reports, "
                         "and rollouts made afterwards select by them");
label->add_option("ID", l->id, "the machine's id")->required()->type_name("");
label->add_option("LABELS", l->labels, "labels to set")->type_name("K=V ...");
label->add_option("--remove", l->remove, "a label to remove (repeatable)")->type_name("K");
label->callback([&ctx, l] { ctx.exit_code = Label(ctx, l->id, l->labels, l->remove); });

auto* fleet = AddGroup(app, "fleet", "the fleet at a glance: summary");
AddCommand(*fleet, "summary", "machines by state and version, offline, rollouts")->callback([&ctx] {
  ctx.exit_code = Summary(ctx);
});
}  // namespace lifeboat::ctl

}  // namespace lifeboat::ctl
