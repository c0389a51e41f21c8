// The one reader of Lifeboat's config files (the agent's and the controller's): key = value
// lines, '#' starts a comment. Each setting keeps where it was written, so that a bad value is
// reported by file and line.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat {

struct ConfigEntry {
  std::string key;
  std::string value;
  std::string where;  // "FILE:LINE"
};

// Reads `path`. Refuses a line that is not key = value, a key not in `known` and a key given
// twice. Errors: kNotFound (no such file), kInvalidArgument naming file and line.
[[nodiscard]] Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path,
                                                              const std::set<std::string>& known);

// `s` without blanks at either end.
std::string Trim(std::string s);

}  // namespace lifeboat
