#include "agent/daemon_config.h"

#include <optional>
#include <sstream>
#include <utility>

#include "common/config_file.h"
#include "common/units.h"

namespace lifeboat::agent {

namespace {

std::optional<int> MinuteOfDay(const std::string& hhmm) {
  int h = 0, m = 0;
  char colon = 0;
  std::istringstream in(hhmm);
  if (!(in >> h >> colon >> m) || colon != ':' || h < 0 || h > 23 || m < 0 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

// The settings taken as written, and the field each one fills.
constexpr std::pair<const char*, std::string DaemonConfig::*> kTextSettings[] = {
    {"controller", &DaemonConfig::controller},
    {"machine_id", &DaemonConfig::machine_id},
    {"disk", &DaemonConfig::disk},
    {"state_dir", &DaemonConfig::state_dir},
    {"ca", &DaemonConfig::ca},
    {"enrollment_token", &DaemonConfig::enrollment_token},
    {"link", &DaemonConfig::link},
};

std::string DaemonConfig::*TextSetting(const std::string& key) {
  for (const auto& [name, field] : kTextSettings)
    if (key == name) return field;
  return nullptr;
}

}  // namespace

Result<DaemonConfig> ReadDaemonConfig(const std::string& path) {
  auto entries =
      ReadConfigFile(path, {"controller", "machine_id", "disk", "state_dir", "ca",
                            "enrollment_token", "link", "labels", "trusted_keys",
                            "maintenance_window", "lock_wait", "renew_certificate_before"});
  LIFEBOAT_TRY(entries);
  DaemonConfig c;
  for (const auto& [key, value, where] : *entries) {
    if (auto field = TextSetting(key))
      c.*field = value;
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
    } else if (key == "renew_certificate_before") {
      auto before = ParseDuration(value);
      if (!before || before->count() == 0)
        return Fail(ErrorCode::kInvalidArgument,
                    where + ": renew_certificate_before is a duration above 0 (90d, 2000h)");
      c.renew_certificate_before_seconds = before->count();
    } else if (key == "lock_wait") {
      auto wait = ParseDuration(value);
      if (!wait || wait->count() > 86400)
        return Fail(ErrorCode::kInvalidArgument,
                    where + ": lock_wait is a duration up to a day (600, 10m, 1h)");
      c.lock_wait_seconds = static_cast<int>(wait->count());
    }
  }
  return c;
}

}  // namespace lifeboat::agent
