// The agent daemon's and contacts' log: timestamped lines on standard error (the journal under
// systemd).
#pragma once

#include <string>

namespace lifeboat::agent {

void LogLine(const std::string& line);

}  // namespace lifeboat::agent
