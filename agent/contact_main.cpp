// lifeboat-agent-contact: one contact with the controller, started by lifeboat-agent-daemon for
// each heartbeat. Not meant to be started by hand.
//   lifeboat-agent-contact --config FILE --agent LIFEBOAT_AGENT [--register]
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "agent/contact.h"
#include "agent/contact_report.h"
#include "agent/exit_codes.h"

int main(int argc, char** argv) {
  using namespace lifeboat::agent;
  std::signal(SIGPIPE, SIG_IGN);
  // Without its daemon a contact has no one to report to; its state is safe to cut anywhere (the
  // outbox and apply's journal are written for exactly that), and an apply it started goes on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const bool usage_ok = (argc == 5 || argc == 6) && std::string(argv[1]) == "--config" &&
                        std::string(argv[3]) == "--agent" &&
                        (argc == 5 || std::string(argv[5]) == "--register");
  if (!usage_ok) {
    std::fputs("lifeboat-agent-contact: started by lifeboat-agent-daemon ('lifeboat-agent run')\n",
               stderr);
    return kExitUsage;
  }
  auto config = ReadDaemonConfig(argv[2]);
  if (!config) {
    std::fprintf(stderr, "lifeboat-agent-contact: %s\n", config.error().message.c_str());
    return config.error().code == lifeboat::ErrorCode::kNotFound ? kExitNotFound : kExitUsage;
  }
  ContactReport report;
  const int code = RunContact(*config, argv[4], argc == 6, report);
  if (code == kExitOk) std::fputs(FormatContactReport(report).c_str(), stdout);
  return code;
}
