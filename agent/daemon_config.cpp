#include "agent/daemon_config.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace lifeboat::agent {

namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

std::optional<int> MinuteOfDay(const std::string& hhmm) {
  int h = 0, m = 0;
  char colon = 0;
  std::istringstream in(hhmm);
  if (!(in >> h >> colon >> m) || colon != ':' || h < 0 || h > 23 || m < 0 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

}  // namespace

Result<DaemonConfig> ReadDaemonConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read the config file " + path);
  DaemonConfig c;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return Fail(ErrorCode::kInvalidArgument, where + ": expected key = value");
    std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "controller")
      c.controller = value;
    else if (key == "machine_id")
      c.machine_id = value;
    else if (key == "disk")
      c.disk = value;
    else if (key == "state_dir")
      c.state_dir = value;
    else if (key == "ca")
      c.ca = value;
    else if (key == "enrollment_token")
      c.enrollment_token = value;
    else if (key == "link")
      c.link = value;
    else if (key == "labels") {
      std::istringstream items(value);
      std::string item;
      while (std::getline(items, item, ',')) {
        item = Trim(item);
        auto at = item.find('=');
        if (at == std::string::npos || at == 0)
          return Fail(ErrorCode::kInvalidArgument,
                      where + ": label '" + item + "' is not key=value");
        c.labels[Trim(item.substr(0, at))] = Trim(item.substr(at + 1));
      }
    } else if (key == "trusted_keys") {
      std::istringstream items(value);
      std::string item;
      while (std::getline(items, item, ','))
        if (!Trim(item).empty()) c.trusted_keys.push_back(Trim(item));
    } else if (key == "maintenance_window") {
      auto dash = value.find('-');
      auto from = dash == std::string::npos ? std::nullopt : MinuteOfDay(value.substr(0, dash));
      auto to = dash == std::string::npos ? std::nullopt : MinuteOfDay(value.substr(dash + 1));
      if (!from || !to)
        return Fail(ErrorCode::kInvalidArgument, where + ": maintenance_window is HH:MM-HH:MM");
      c.window = std::make_pair(*from, *to);
      c.window_text = value;
    } else if (key == "lock_wait") {
      if (value.empty() || value.size() > 6 ||
          value.find_first_not_of("0123456789") != std::string::npos)
        return Fail(ErrorCode::kInvalidArgument, where + ": lock_wait is a number of seconds");
      c.lock_wait_seconds = std::stoi(value);
    } else {
      return Fail(ErrorCode::kInvalidArgument, where + ": unknown key '" + key + "'");
    }
  }
  return c;
}

}  // namespace lifeboat::agent
