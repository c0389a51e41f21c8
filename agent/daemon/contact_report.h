// What one contact with the controller (lifeboat-agent-contact) tells the resident daemon as it
// exits: one line on its standard output, so the daemon needs no gRPC, protobuf or SQLite.
//   "reached SECONDS"  the controller answered and asks for the next contact in SECONDS
//                      (0: it did not say)
//   "unreachable"      the controller could not be reached, or answered with an error
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::agent {

struct ContactReport {
  bool reached = false;
  uint32_t next_contact_seconds = 0;
  bool work_pending = false;  // the controller has more work coming (a service visit stays)
};

[[nodiscard]] std::string FormatContactReport(const ContactReport& report);
// Reads the last line of `output`; nullopt when it is not a report (a contact that crashed).
[[nodiscard]] std::optional<ContactReport> ParseContactReport(std::string_view output);

}  // namespace lifeboat::agent
