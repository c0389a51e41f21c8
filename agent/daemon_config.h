// The agent's config file (packaging/agent.conf explains every key), read by `lifeboat-agent run`
// to check it and by each contact with the controller (agent/contact/contact.h).
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
  // Renew the client certificate when less than this is left of it; 0: a third of its lifetime.
  long long renew_certificate_before_seconds = 0;
  std::string sysfs = "/sys";  // where the hardware identity is read (not a config key)
  // Register under Windows' computer name rather than the Linux host name: a service visit, whose
  // RAM disk has no name of its own (not a config key).
  bool register_windows_name = false;
  // Keep apply's journal with the controller (agent/contact/journal_keeper.h): a service visit,
  // whose state folder is a RAM disk (not a config key).
  bool journal_with_controller = false;
};

// key = value lines: controller, machine_id, labels (k=v,k=v), disk, state_dir, link,
// maintenance_window (HH:MM-HH:MM), lock_wait, trusted_keys (file, file), ca, enrollment_token,
// renew_certificate_before (a duration).
// Errors: kInvalidArgument naming file:line, kNotFound when the file is missing.
[[nodiscard]] Result<DaemonConfig> ReadDaemonConfig(const std::string& path);

}  // namespace lifeboat::agent
