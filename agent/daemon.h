// The agent's daemon, `lifeboat-agent run` (which hands over to the lifeboat-agent-daemon
// program): it registers with the controller, heartbeats with its inventory, and on an assignment
// downloads the image (resumable, every chunk checked), runs `lifeboat-agent apply` on it (a child
// process, so its journal and locks are exactly apply's) and reports every step as it happens.
// Reports wait in the daemon's own state file (an outbox) until the controller acknowledges them,
// so they survive the controller being down and the agent restarting.
//
// The daemon holds only the network side and is linked statically: between heartbeats it is all
// that stays resident. Every disk read and write is done by lifeboat-agent child processes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  std::string window_text;                    // as written: "22:00-05:00"
  int lock_wait_seconds = 600;
  std::vector<std::string> trusted_keys;    // public key files; images must be signed by one
  std::string ca = "/etc/lifeboat/ca.pem";  // the controller's CA certificate
  std::string enrollment_token;             // used once, when state_dir holds no certificate
};

// key = value lines: controller, machine_id, labels (k=v,k=v), disk, state_dir, link,
// maintenance_window (HH:MM-HH:MM), lock_wait, trusted_keys (file, file), ca, enrollment_token.
// Errors:
// kInvalidArgument naming file:line.
[[nodiscard]] Result<DaemonConfig> ReadDaemonConfig(const std::string& path);

// Runs until SIGINT or SIGTERM; `agent` is the lifeboat-agent program to run for disk work.
// Returns the process exit code.
int RunDaemon(const DaemonConfig& config, const std::string& agent);

}  // namespace lifeboat::agent
