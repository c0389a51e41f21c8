// lifeboat-agent-daemon: started by `lifeboat-agent run --config FILE`, which checks the config
// and passes its own path for the disk work. Not meant to be started by hand.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "agent/daemon/daemon.h"
#include "agent/exit_codes.h"

int main(int argc, char** argv) {
  using namespace lifeboat::agent;
  std::signal(SIGPIPE, SIG_IGN);
  if (argc != 5 || std::string(argv[1]) != "--config" || std::string(argv[3]) != "--agent") {
    std::fputs("lifeboat-agent-daemon: start it with 'lifeboat-agent run --config FILE'\n", stderr);
    return kExitUsage;
  }
  // The contact program is installed beside the daemon (build/bin, or libexec/lifeboat).
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string contact = (self.parent_path() / "lifeboat-agent-contact").string();
  return RunDaemon(contact, {"--config", argv[2], "--agent", argv[4]});
}
