// `lifeboat-agent status` (what a disk holds, read from the disk itself, and whether it is intact)
// and `image check`. Both change nothing. Exit codes and JSON are in docs/cli.md.
#pragma once

#include <string>

#include "agent/reports.h"
#include "common/error.h"

namespace lifeboat::agent {

struct StatusOptions {
  std::string disk;
  bool json = false;
  bool verify = false;  // also hash the installed image
  std::string state_dir = "/var/lib/lifeboat";
};

int Status(const StatusOptions& options);
// What Status prints, as a value (the daemon's inventory uses it). Errors: the disk's.
[[nodiscard]] Result<StatusReport> InspectStatus(const StatusOptions& options);
// What apply would check, and what the image holds.
int ImageCheck(const std::string& file, bool json);

}  // namespace lifeboat::agent
