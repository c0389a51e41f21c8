#include "agent/daemon/agent_log.h"

#include <cstdio>
#include <ctime>

namespace lifeboat::agent {

void LogLine(const std::string& line) {
  std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  // One write per line, so lines of the daemon and its contact never interleave.
  std::string text = std::string(stamp) + " lifeboat-agent: " + line + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace lifeboat::agent
