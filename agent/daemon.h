// `lifeboat-agent run`: the daemon on each machine. It registers with the controller, heartbeats
// with its inventory, and on an assignment downloads the image (resumable, every chunk checked),
// runs the same pipeline as `lifeboat-agent apply` (as a child process, so its journal and locks
// are exactly apply's), and reports every step. Reports wait in the agent's journal (an outbox)
// until the controller acknowledges them, so they survive the controller being down and the
// agent restarting.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/error.h"

namespace lifeboat::agent {

struct DaemonConfig {
  std::string controller = "127.0.0.1:7443";
  std::string machine_id;  // empty: /etc/machine-id, else one generated once and kept
  std::map<std::string, std::string> labels;
  std::string disk;  // empty: the disk that holds the Windows partition
  std::string state_dir = "/var/lib/lifeboat";
  std::string link = "tools-menu";
  std::optional<std::pair<int, int>> window;  // act only between these minutes of the day
  int lock_wait_seconds = 600;
};

// key = value lines: controller, machine_id, labels (k=v,k=v), disk, state_dir, link,
// maintenance_window (HH:MM-HH:MM), lock_wait. Errors: kInvalidArgument naming file:line.
[[nodiscard]] Result<DaemonConfig> ReadDaemonConfig(const std::string& path);

// Runs until SIGINT or SIGTERM. Returns the process exit code.
int RunDaemon(const DaemonConfig& config);

}  // namespace lifeboat::agent
