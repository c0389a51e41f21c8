// lifeboat-agent-daemon: started by `lifeboat-agent run --config FILE`, which checks the config
// and passes its own path for the disk work. Not meant to be started by hand.
#include <csignal>
#include <iostream>
#include <string>

#include "agent/daemon.h"
#include "agent/exit_codes.h"

int main(int argc, char** argv) {
  using namespace lifeboat::agent;
  std::signal(SIGPIPE, SIG_IGN);
  if (argc != 5 || std::string(argv[1]) != "--config" || std::string(argv[3]) != "--agent") {
    std::cerr << "lifeboat-agent-daemon: start it with 'lifeboat-agent run --config FILE'\n";
    return kExitUsage;
  }
  auto config = ReadDaemonConfig(argv[2]);
  if (!config) {
    std::cerr << "lifeboat-agent-daemon: " << config.error().message << "\n";
    return config.error().code == lifeboat::ErrorCode::kNotFound ? kExitNotFound : kExitUsage;
  }
  return RunDaemon(*config, argv[4]);
}
