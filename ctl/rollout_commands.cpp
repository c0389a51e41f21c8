// lifeboatctl rollout create | list | show | machines | pause | resume | abort | rollback.
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

struct CreateOptions {
  std::string image;
  bool winre_grow = false, remove = false;
  std::string free, size, reclaim, winre_free_below;
  bool all = false;
  std::vector<std::string> labels, machines;
  std::string waves, wait, max_in_progress, failure_threshold, max_retries, machine_deadline;
  bool allow_unsigned = false;
};

// The job: exactly one of --image, --winre-grow, --remove, each with its own options.
int SetJob(const CreateOptions& o, v1::RolloutSpec& spec) {
  if ((o.image.empty() ? 0 : 1) + (o.winre_grow ? 1 : 0) + (o.remove ? 1 : 0) != 1)
    return Usage("give exactly one of --image V (install it), --winre-grow or --remove");
  if (!o.winre_grow && !(o.free.empty() && o.size.empty()))
    return Usage("--free and --size go with --winre-grow");
  if (!o.remove && !o.reclaim.empty()) return Usage("--reclaim goes with --remove");
  if (o.allow_unsigned && o.image.empty()) return Usage("--allow-unsigned goes with --image");
  if (!o.image.empty()) {
    spec.set_image_version(o.image);
    return 0;
  }
  auto* job = spec.mutable_job();
  if (o.remove) {
    job->set_kind(v1::JOB_KIND_REMOVE);
    job->set_reclaim(o.reclaim.empty() ? "none" : o.reclaim);
    return 0;
  }
  job->set_kind(v1::JOB_KIND_WINRE_GROW);
  // Checked by the options' validators already. Windows' WinRE update asks for 250 MB free.
  if (!o.size.empty())
    job->set_winre_size_bytes(ParseSize(o.size)->value);
  else
    job->set_winre_free_bytes(ParseSize(o.free.empty() ? "250MB" : o.free)->value);
  return 0;
}

int Create(Context& ctx, const CreateOptions& o) {
  v1::CreateRolloutRequest request;
  auto* spec = request.mutable_spec();
  if (int code = SetJob(o, *spec); code != 0) return code;
  spec->mutable_selector()->set_all(o.all);
  int code = 0;
  if (!ParseLabels(o.labels, *spec->mutable_selector()->mutable_labels(), code)) return code;
  for (const auto& id : o.machines) spec->mutable_selector()->add_machine_ids(id);
  if (!o.winre_free_below.empty())
    spec->mutable_selector()->set_winre_free_below_bytes(ParseSize(o.winre_free_below)->value);
  if (!o.waves.empty()) {
    std::string item;
    std::stringstream items(o.waves);
    while (std::getline(items, item, ',')) {
      const bool percent = !item.empty() && item.back() == '%';
      auto n = ParseCount(percent ? item.substr(0, item.size() - 1) : item);
      if (!n) return Usage("--waves '" + o.waves + "': '" + item + "' is not a count or a percent");
      if (percent)
        spec->add_waves()->set_percent(*n);
      else
        spec->add_waves()->set_count(*n);
    }
  }
  // Checked by the options' validators already.
  if (!o.wait.empty())
    spec->set_wait_between_waves_seconds(static_cast<uint32_t>(ParseDuration(o.wait)->count()));
  if (!o.max_in_progress.empty()) spec->set_max_in_progress(*ParseCount(o.max_in_progress));
  if (!o.failure_threshold.empty())
    spec->set_failure_threshold_percent(*ParseCount(o.failure_threshold));
  if (!o.max_retries.empty()) spec->set_max_retries(*ParseCount(o.max_retries));
  if (!o.machine_deadline.empty())
    spec->set_machine_deadline_seconds(
        static_cast<uint32_t>(ParseDuration(o.machine_deadline)->count()));
  spec->set_allow_unsigned(o.allow_unsigned);
  return ctx.Run<v1::CreateRolloutRequest, v1::CreateRolloutResponse>(
      &v1::AdminService::Stub::CreateRollout, request,
      [](const auto& response) { PrintRollout(response.rollout()); });
}

int List(Context& ctx) {
  return ctx.Run<v1::ListRolloutsRequest, v1::ListRolloutsResponse>(
      &v1::AdminService::Stub::ListRollouts, {}, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : response.rollouts()) {
          const auto& p = r.progress();
          rows.push_back({std::to_string(r.id()), JobText(r.spec()), StateName(r.state()),
                          std::to_string(p.succeeded()) + "/" + std::to_string(p.targeted()),
                          std::to_string(p.failed()), std::to_string(p.in_progress()),
                          r.created_at()});
        }
        Table({"ID", "JOB", "STATE", "DONE", "FAILED", "RUNNING", "CREATED"}, rows);
      });
}

// One call on one rollout, returning it: show, pause, resume, abort, rollback.
template <typename Request, typename Response>
int OnRollout(Context& ctx, uint64_t id,
              grpc::Status (v1::AdminService::Stub::*call)(grpc::ClientContext*, const Request&,
                                                           Response*)) {
  Request request;
  request.set_id(id);
  return ctx.Run<Request, Response>(
      call, request, [](const Response& response) { PrintRollout(response.rollout()); });
}

// Every machine of a rollout in wave order (all pages, as one), with each wave's progress.
int Machines(Context& ctx, uint64_t id) {
  auto* stub = ctx.Stub();
  if (stub == nullptr) return ctx.exit_code;
  v1::ListRolloutMachinesRequest request;
  request.set_id(id);
  request.set_page_size(1000);
  v1::ListRolloutMachinesResponse all;
  while (true) {
    v1::ListRolloutMachinesResponse page;
    const grpc::Status status = stub->ListRolloutMachines(Context::Call().get(), request, &page);
    if (!status.ok()) return Fail(status, ctx.json);
    for (auto& m : *page.mutable_machines()) *all.add_machines() = std::move(m);
    *all.mutable_waves() = page.waves();
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  if (ctx.json) {
    std::cout << Json(all) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> waves;
  for (int w = 0; w < all.waves_size(); ++w) {
    const auto& p = all.waves(w);
    waves.push_back({std::to_string(w + 1), std::to_string(p.targeted()),
                     std::to_string(p.succeeded()), std::to_string(p.failed()),
                     std::to_string(p.in_progress()), std::to_string(p.pending()),
                     std::to_string(p.skipped())});
  }
  Table({"WAVE", "MACHINES", "SUCCEEDED", "FAILED", "RUNNING", "PENDING", "SKIPPED"}, waves);
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : all.machines())
    rows.push_back({m.machine_id(), std::to_string(m.wave() + 1),
                    m.skipped() && m.state() == "pending" ? "skipped" : m.state(),
                    std::to_string(m.attempts()), m.finished_at().empty() ? "-" : m.finished_at(),
                    m.previous_version().empty() ? "-" : m.previous_version()});
  Table({"MACHINE", "WAVE", "STATE", "ATTEMPTS", "FINISHED", "HAD"}, rows);
  return 0;
}

}  // namespace

void AddRolloutCommands(CLI::App& app, Context& ctx) {
  auto* rollout = AddGroup(app, "rollout",
                           "rollouts in waves: create, list, show, machines, pause, "
                           "resume, abort, rollback");

  auto o = std::make_shared<CreateOptions>();
  auto* create = AddCommand(
      *rollout, "create", "roll an image, a WinRE grow or a removal out to machines, in waves",
      "The job, one of: --image V installs that published version (lifeboat-agent apply); "
      "--winre-grow gives Windows' recovery partition the free space Windows' WinRE update needs "
      "(lifeboat-agent winre grow: --free, default 250MB, or --size); --remove takes Lifeboat "
      "off (lifeboat-agent remove, --reclaim for its room). Targets every machine (--all), those "
      "with every --label given, or the --machine IDs. Waves open one after the other: each once "
      "the machines of the waves before have finished (or been skipped as offline past "
      "--machine-deadline) and --wait has passed. The rollout halts when more than "
      "--failure-threshold percent of a wave failed. An unsigned image is refused (agents install "
      "only signed ones) unless --allow-unsigned is given. A removal is rolled back by installing "
      "again what each machine had; a WinRE grow is not rolled back (`lifeboat-agent disk "
      "restore` on a machine).");
  create->add_option("--image", o->image, "the published version to install")
      ->type_name("V")
      ->check(VersionCheck());
  create->add_flag("--winre-grow", o->winre_grow,
                   "grow Windows' WinRE partition on each machine, taking room from Windows");
  create
      ->add_option("--free", o->free,
                   "with --winre-grow: the free space WinRE should have (default 250MB, what "
                   "Windows' WinRE update asks for)")
      ->type_name("SIZE")
      ->check(SizeCheck());
  create
      ->add_option("--size", o->size,
                   "with --winre-grow: or the size WinRE's partition should have")
      ->type_name("SIZE")
      ->check(SizeCheck());
  create->add_flag("--remove", o->remove, "take Lifeboat off each machine");
  create
      ->add_option("--reclaim", o->reclaim,
                   "with --remove: who gets Lifeboat's room: none (default), windows, or winre")
      ->type_name("WHO")
      ->check(CLI::IsMember({"none", "windows", "winre"}).description(""));
  create->add_flag("--all", o->all, "every machine");
  create->add_option("--label", o->labels, "machines with this label (repeatable)")
      ->type_name("K=V");
  create->add_option("--machine", o->machines, "this machine (repeatable)")->type_name("ID");
  create
      ->add_option("--winre-free-below", o->winre_free_below,
                   "with --all or --label: only machines whose inventory reports WinRE with less "
                   "free space than SIZE (as `machine list --winre-free-below`), e.g. 250MB")
      ->type_name("SIZE")
      ->check(SizeCheck());
  create
      ->add_option("--waves", o->waves,
                   "percents or counts of the targeted machines, e.g. 1%,10%,50%,100% or "
                   "5,50,500 (default: one wave)")
      ->type_name("LIST");
  create->add_option("--wait", o->wait, "time between waves (default 0)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  create
      ->add_option("--max-in-progress", o->max_in_progress,
                   "machines working at once (default: no limit)")
      ->type_name("N")
      ->check(CountCheck());
  create
      ->add_option("--failure-threshold", o->failure_threshold,
                   "halt when more than PERCENT of a wave failed (default 10; 0: never halt)")
      ->type_name("PERCENT")
      ->check(CountCheck());
  create->add_option("--max-retries", o->max_retries, "attempts after a failure (default 0)")
      ->type_name("N")
      ->check(CountCheck());
  create
      ->add_option("--machine-deadline", o->machine_deadline,
                   "a machine offline that long after its wave opened is skipped and no longer "
                   "holds up the waves; it is still served if it comes back (default 24h; 0: "
                   "never skip)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  create->add_flag("--allow-unsigned", o->allow_unsigned, "roll out an unsigned image anyway");
  create->callback([&ctx, o] { ctx.exit_code = Create(ctx, *o); });

  AddCommand(*rollout, "list", "every rollout and its progress")->callback([&ctx] {
    ctx.exit_code = List(ctx);
  });

  struct Verb {
    const char* name;
    const char* summary;
    std::function<int(Context&, uint64_t)> run;
  };
  using S = v1::AdminService::Stub;
  const Verb verbs[] = {
      {"show", "one rollout: its state, waves and machines",
       [](Context& c, uint64_t id) {
         return OnRollout<v1::GetRolloutRequest, v1::GetRolloutResponse>(c, id, &S::GetRollout);
       }},
      {"machines", "a rollout's machines in wave order, and each wave's progress", Machines},
      {"pause", "open no further wave; machines at work finish",
       [](Context& c, uint64_t id) {
         return OnRollout<v1::PauseRolloutRequest, v1::PauseRolloutResponse>(c, id,
                                                                             &S::PauseRollout);
       }},
      {"resume",
       "go on with a paused or halted rollout (a halted one accepts the failures it halted for; "
       "a further failure halts it again)",
       [](Context& c, uint64_t id) {
         return OnRollout<v1::ResumeRolloutRequest, v1::ResumeRolloutResponse>(c, id,
                                                                               &S::ResumeRollout);
       }},
      {"abort", "stop the rollout for good",
       [](Context& c, uint64_t id) {
         return OnRollout<v1::AbortRolloutRequest, v1::AbortRolloutResponse>(c, id,
                                                                             &S::AbortRollout);
       }},
      {"rollback", "a new rollout putting back what its machines had before",
       [](Context& c, uint64_t id) {
         return OnRollout<v1::RollbackRolloutRequest, v1::RollbackRolloutResponse>(
             c, id, &S::RollbackRollout);
       }},
  };
  for (const auto& verb : verbs) {
    auto id = std::make_shared<std::string>();
    auto* command = AddCommand(*rollout, verb.name, verb.summary);
    command->add_option("ID", *id, "the rollout's number")
        ->required()
        ->type_name("")
        ->check(CountCheck());
    command->callback([&ctx, id, run = verb.run] { ctx.exit_code = run(ctx, *ParseCount(*id)); });
  }
}

}  // namespace lifeboat::ctl
