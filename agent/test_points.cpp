#include "agent/test_points.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace lifeboat::agent {

void TestPoint(const std::string& point) {
  static const char* crash_at = std::getenv("LIFEBOAT_TEST_CRASH_AT");
  if (crash_at != nullptr && point == crash_at) kill(getpid(), SIGKILL);
  static const char* hold_at = std::getenv("LIFEBOAT_TEST_HOLD_AT");
  static const char* hold_file = std::getenv("LIFEBOAT_TEST_HOLD_FILE");
  if (hold_at != nullptr && hold_file != nullptr && point == hold_at) {
    std::error_code ec;
    for (int i = 0; i < 1200 && !std::filesystem::exists(hold_file, ec); ++i) usleep(100'000);
  }
}

}  // namespace lifeboat::agent
