#include "agent/daemon/contact_report.h"

#include <charconv>

namespace lifeboat::agent {

std::string FormatContactReport(const ContactReport& report) {
  return report.reached ? "reached " + std::to_string(report.next_contact_seconds) + "\n"
                        : "unreachable\n";
}

std::optional<ContactReport> ParseContactReport(std::string_view output) {
  while (!output.empty() && output.back() == '\n') output.remove_suffix(1);
  if (auto nl = output.rfind('\n'); nl != std::string_view::npos) output.remove_prefix(nl + 1);
  if (output == "unreachable") return ContactReport{};
  constexpr std::string_view kReached = "reached ";
  if (!output.starts_with(kReached)) return std::nullopt;
  output.remove_prefix(kReached.size());
  uint32_t seconds = 0;
  auto [end, ec] = std::from_chars(output.data(), output.data() + output.size(), seconds);
  if (ec != std::errc() || end != output.data() + output.size()) return std::nullopt;
  return ContactReport{true, seconds};
}

}  // namespace lifeboat::agent
