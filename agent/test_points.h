// Fault injection for the crash tests, in one place for every command that changes a disk. Named
// points ("apply:write-image:chunk:1", "3:chunk:2", ...) are passed here as the work reaches
// them; LIFEBOAT_TEST_CRASH_AT=<point> makes the process kill itself (SIGKILL) there, and
// LIFEBOAT_TEST_HOLD_AT=<point> with LIFEBOAT_TEST_HOLD_FILE=<file> holds it there until the file
// exists (at most 2 minutes), for tests that look at what others see meanwhile or cut the power.
// Without these variables a point does nothing.
#pragma once

#include <string>

namespace lifeboat::agent {

void TestPoint(const std::string& point);

}  // namespace lifeboat::agent
