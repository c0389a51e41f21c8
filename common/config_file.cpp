#include "common/config_file.h"

#include <fstream>

namespace lifeboat {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path,
                                                const std::set<std::string>& known) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read the config file " + path);
  std::vector<ConfigEntry> entries;
  std::set<std::string> seen;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      return Fail(ErrorCode::kInvalidArgument, where + ": expected key = value");
    ConfigEntry entry{Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)), where};
    if (!known.contains(entry.key)) {
      std::string keys;
      for (const auto& k : known) keys += (keys.empty() ? "" : ", ") + k;
      return Fail(ErrorCode::kInvalidArgument,
                  where + ": unknown key '" + entry.key + "' (known: " + keys + ")");
    }
    if (!seen.insert(entry.key).second)
      return Fail(ErrorCode::kInvalidArgument, where + ": '" + entry.key + "' is set twice");
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace lifeboat
