// lifeboat-agent-contact: one contact with the controller, started by lifeboat-agent-daemon for
// each heartbeat; or, with --service-visit, the whole visit of the network-booted service
// environment (agent/contact/service_visit.h). Not meant to be started by hand.
//   lifeboat-agent-contact --config FILE --agent LIFEBOAT_AGENT [--register | --service-visit]
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "agent/contact/contact.h"
#include "agent/contact/service_visit.h"
#include "agent/daemon/contact_report.h"
#include "agent/exit_codes.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace lifeboat::agent;
  std::signal(SIGPIPE, SIG_IGN);
  // Without its daemon a contact has no one to report to; its state is safe to cut anywhere (the
  // outbox and apply's journal are written for exactly that), and an apply it started goes on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  CLI::App app{
      "lifeboat-agent-contact - one contact with the controller, started by "
      "lifeboat-agent-daemon ('lifeboat-agent run'); not meant to be started by hand",
      "lifeboat-agent-contact"};
  lifeboat::StyleHelp(app);
  std::string config_path, agent, sysfs = "/sys";
  bool register_first = false, service_visit = false;
  app.add_option("--config", config_path, "the agent's configuration")->required();
  app.add_option("--agent", agent, "the lifeboat-agent program that does the disk work")
      ->required();
  app.add_flag("--register", register_first, "register (or enroll) before the heartbeat");
  app.add_flag("--service-visit", service_visit,
               "the service environment's visit: say who this machine is by its hardware, and "
               "carry out what the controller has for it");
  app.add_option("--sysfs", sysfs,
                 "where --service-visit reads the hardware from (default /sys; for tests and "
                 "containers)")
      ->type_name("DIR");
  if (auto exit = lifeboat::ParseCommandLine(app, argc, argv)) return *exit;
  auto config = ReadDaemonConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "lifeboat-agent-contact: %s\n", config.error().message.c_str());
    return config.error().code == lifeboat::ErrorCode::kNotFound ? kExitNotFound : kExitUsage;
  }
  if (service_visit) return RunServiceVisit(*config, agent, sysfs);
  ContactReport report;
  const int code = RunContact(*config, agent, register_first, report);
  if (code == kExitOk) std::fputs(FormatContactReport(report).c_str(), stdout);
  return code;
}
