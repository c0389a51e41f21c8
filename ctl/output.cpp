#include "ctl/output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "proto/api_json.h"
#include "proto/rollout_job.h"

namespace lifeboat::ctl {

namespace {
bool errors_as_json = false;  // --json was given: failures print the error shape on stdout too

void PrintErrorJson(const std::string& code, const std::string& message,
                    const std::string& field = {}) {
  if (errors_as_json) std::cout << api::Text(api::ErrorObject(code, message, field), true) << "\n";
}
}  // namespace

void PrintErrorsAsJson(bool on) { errors_as_json = on; }

int Usage(const std::string& problem) {
  PrintErrorJson("invalid_argument", problem);
  std::cerr << "lifeboatctl: " << problem << "\nRun 'lifeboatctl --help' for usage.\n";
  return kExitUsage;
}

void PrintCommandLineErrorJson(const std::string& message, const std::string& field) {
  errors_as_json = true;
  PrintErrorJson("invalid_argument", message, field);
}

int ExitFor(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return 0;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 2;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::DATA_LOSS:
      return 3;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 4;
    case grpc::StatusCode::NOT_FOUND:
      return 5;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return 6;
    default:
      return 1;
  }
}

std::string JsonText(const Poco::JSON::Object::Ptr& object) { return api::Text(object, true); }

// The word of the JSON error shape for a failed call: the controller's own (in the status's
// details) when it sent one, else the nearest for the gRPC code (a transport failure, say).
std::string CodeWord(const grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "invalid_argument";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "conflict";
    case grpc::StatusCode::DATA_LOSS:
      return "corrupt";
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "unavailable";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    default:
      return "internal";
  }
}

int Fail(const grpc::Status& s, bool json) {
  if (json) {
    v1::ErrorDetail detail;
    if (!detail.ParseFromString(s.error_details()) || detail.code().empty())
      detail.set_code(CodeWord(s.error_code()));
    std::cout << api::Text(api::ErrorObject(detail.code(), s.error_message(), detail.field(),
                                            detail.reason()),
                           true)
              << "\n";
  } else {
    std::cerr << "lifeboatctl: " << s.error_message() << "\n";
  }
  return ExitFor(s);
}

int Complain(const Error& error, int exit_code) {
  PrintErrorJson(ErrorCodeName(error.code), error.message, error.field);
  std::cerr << "lifeboatctl: " << error.message << "\n";
  return exit_code;
}

std::string Json(const google::protobuf::Message& m) { return api::MessageJson(m, true); }

void Table(const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      std::cout << cells[c];
      if (c + 1 < cells.size()) std::cout << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string ShortName(const std::string& full, const std::string& prefix) {
  if (full.empty() || full == prefix + "UNSPECIFIED") return "-";
  std::string out = full.starts_with(prefix) ? full.substr(prefix.size()) : full;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string StateName(v1::RolloutState s) {
  return ShortName(v1::RolloutState_Name(s), "ROLLOUT_STATE_");
}

std::string AgentStateText(v1::AgentState s) {
  return ShortName(v1::AgentState_Name(s), "AGENT_STATE_");
}

std::string Size(uint64_t bytes) {
  char out[32];
  if (bytes >= (1ULL << 30))
    std::snprintf(out, sizeof out, "%.2f GiB", bytes / double(1ULL << 30));
  else if (bytes >= (1ULL << 20))
    std::snprintf(out, sizeof out, "%.1f MiB", bytes / double(1ULL << 20));
  else
    std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
  return out;
}

std::string JobText(const v1::RolloutSpec& spec) {
  const auto job = spec.has_job() ? api::FromProto(spec.job()) : std::optional{RolloutJob{}};
  return job ? DescribeJob(*job, spec.image_version()) : "a job this lifeboatctl does not know";
}

void PrintRollout(const v1::Rollout& r) {
  const auto& p = r.progress();
  const std::string job = JobText(r.spec());
  std::cout << "rollout " << r.id() << ": " << StateName(r.state()) << ", "
            << (job.starts_with("install ") ? "image " + r.spec().image_version() : job)
            << (r.rollback_of() ? " (rollback of " + std::to_string(r.rollback_of()) + ")" : "")
            << "\n  machines  " << p.targeted() << " targeted: " << p.succeeded() << " succeeded, "
            << p.failed() << " failed, " << p.in_progress() << " in progress, " << p.pending()
            << " pending, " << p.skipped() << " skipped (offline)\n  wave      "
            << p.current_wave() + 1 << " of " << std::max(1, r.spec().waves_size()) << "\n";
  if (!r.message().empty()) std::cout << "  message   " << r.message() << "\n";
  std::cout << "  created   " << r.created_at() << "\n";
}

}  // namespace lifeboat::ctl
