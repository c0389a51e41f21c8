// lifeboatctl: the operator's command line over gRPC (AdminService). Tables for people, --json
// (the response in the JSON shape of docs/json.md) for tools. Exit codes are in
// docs/lifeboatctl.md. The commands live in a file a group (ctl/commands.h); what they print, in
// ctl/output.
#include <csignal>

#include "common/cli.h"
#include "common/version.h"
#include "ctl/commands.h"

namespace {

constexpr const char* kAbout = R"(
Every command's own --help lists its options (for example: lifeboatctl rollout create --help).
Sizes and counts are plain numbers; durations are 90 (seconds), 30s, 5m, 1h or 7d.
Roles: viewer (reads), operator (rollouts, boot-recovery, media), admin (all).

Exit codes: 0 done, 1 error, 2 usage or invalid argument, 3 refused (exists, in use, retired,
            bytes did not match), 4 controller unreachable, 5 not found, 6 not allowed (no or
            unknown token, or a role too low).
)";

// Each command that talks to a controller takes the connection options too, after its own (so
// they may stand before or after the command). `key` and `image build` work locally.
void AddConnectionOptionsToCommands(CLI::App& group, lifeboat::ctl::Context& context) {
  for (CLI::App* command : group.get_subcommands([](CLI::App*) { return true; })) {
    if (command->get_name() == "key" || command->get_name() == "build") continue;
    if (command->get_subcommands([](CLI::App*) { return true; }).empty())
      context.AddConnectionOptions(command);
    else
      AddConnectionOptionsToCommands(*command, context);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lifeboat;
  std::signal(SIGPIPE, SIG_IGN);  // a tool that exits early must not kill us through its stdin
  CLI::App app{"lifeboatctl - operate a Lifeboat controller", "lifeboatctl"};
  StyleHelp(app);
  app.set_version_flag("--version", std::string("lifeboatctl ") + kLifeboatVersion,
                       "print the version and exit");
  app.require_subcommand(1);
  ctl::Context context;
  context.AddConnectionOptions(&app);
  ctl::AddImageCommands(app, context);
  ctl::AddRolloutCommands(app, context);
  ctl::AddMachineCommands(app, context);
  ctl::AddAccessCommands(app, context);
  ctl::AddKeyCommands(app, context);
  ctl::AddMediaCommands(app, context);
  ctl::AddRecoveryEntryCommands(app, context);
  AddConnectionOptionsToCommands(app, context);
  app.footer(kAbout);  // after the commands: they would inherit it
  if (auto exit = ParseCommandLine(app, argc, argv, ctl::PrintCommandLineErrorJson)) return *exit;
  return context.exit_code;
}
