#include "agent/step_event.h"

#include <sstream>

namespace lifeboat::agent {

namespace {
constexpr std::string_view kPrefix = "lifeboat-event ";
}

std::string EventLine(const StepEvent& e) {
  std::string message = e.message;
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return std::string(kPrefix) + e.step + " " + StepStatusName(e.status) + " " +
         std::to_string(e.bytes_done) + " " + std::to_string(e.bytes_total) + " " + message;
}

std::optional<StepEvent> ParseEventLine(const std::string& line) {
  if (!line.starts_with(kPrefix)) return std::nullopt;
  std::istringstream in(line.substr(kPrefix.size()));
  StepEvent e;
  std::string status;
  if (!(in >> e.step >> status >> e.bytes_done >> e.bytes_total)) return std::nullopt;
  auto parsed = ParseStepStatus(status);
  if (!parsed) return std::nullopt;
  e.status = *parsed;
  std::getline(in, e.message);
  if (e.message.starts_with(' ')) e.message.erase(0, 1);
  return e;
}

}  // namespace lifeboat::agent
