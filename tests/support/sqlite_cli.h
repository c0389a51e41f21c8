// SQLite's own command-line tool, for tests that read back what the code under test wrote.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/support/test_support.h"

namespace lifeboat::test {

// What `sqlite3 PATH STATEMENT` prints; a failure of the tool fails the test.
inline std::string SqliteOutput(const std::string& path, const std::string& statement) {
  auto r = Sh("sqlite3 " + Quote(path) + " " + Quote(statement));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

}  // namespace lifeboat::test
