// What lifeboatctl prints: tables and summaries for people, a response in the JSON shape of
// docs/json.md for tools (--json), errors with the exit codes of docs/lifeboatctl.md.
#pragma once

#include <Poco/JSON/Object.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "lifeboat/v1/admin_service.pb.h"

namespace lifeboat::ctl {

inline constexpr int kExitUsage = 2;

// With --json, failures are printed in the error shape of docs/json.md on stdout as well
// (Context turns this on when it reads --json).
void PrintErrorsAsJson(bool on);
// Prints "lifeboatctl: <problem>" and how to get help (and the error as JSON); returns 2.
int Usage(const std::string& problem);
// A mistake CLI11 found on a command line with --json: the error as JSON (common/cli.h).
void PrintCommandLineErrorJson(const std::string& message, const std::string& field);
// The exit code for a controller's answer (docs/lifeboatctl.md).
int ExitFor(const grpc::Status& status);
// Prints a failed call (as {"error": {...}} with --json) and returns its exit code.
int Fail(const grpc::Status& status, bool json);
// Prints a local error ("lifeboatctl: <message>", and the error as JSON) and returns `exit_code`.
int Complain(const Error& error, int exit_code);

// A response as JSON in the shape of docs/json.md (proto/api_json.h), indented for reading.
std::string Json(const google::protobuf::Message& message);
// JSON text of an object, through Poco's JSON (escapes every control character).
std::string JsonText(const Poco::JSON::Object::Ptr& object);

// A plain text table: the header, then rows, columns padded to their widest cell.
void Table(const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows);

// "ROLLOUT_STATE_ACTIVE" -> "active", from the names protobuf generates for the enums.
std::string ShortName(const std::string& full, const std::string& prefix);
std::string StateName(v1::RolloutState state);
std::string AgentStateText(v1::AgentState state);
// "1.50 GiB", "3.0 MiB", "512 B".
std::string Size(uint64_t bytes);
// What the rollout does: "install 2.1", "winre-grow --free 250MB", "remove --reclaim windows".
std::string JobText(const v1::RolloutSpec& spec);
void PrintRollout(const v1::Rollout& rollout);

// "K=V" labels into a protobuf map; false (with the usage error printed) for one that is not.
template <typename Map>
bool ParseLabels(const std::vector<std::string>& labels, Map& out, int& exit_code) {
  for (const auto& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      exit_code = Usage("--label '" + label + "' is not KEY=VALUE");
      return false;
    }
    out[label.substr(0, eq)] = label.substr(eq + 1);
  }
  return true;
}

}  // namespace lifeboat::ctl
