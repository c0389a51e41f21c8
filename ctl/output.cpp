#include "ctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace lifeboat::ctl {

int Usage(const std::string& problem) {
  std::cerr << "lifeboatctl: " << problem << "\nRun 'lifeboatctl --help' for usage.\n";
  return kExitUsage;
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

std::string JsonText(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

int Fail(const grpc::Status& s, bool json) {
  if (json) {
    Poco::JSON::Object::Ptr error = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    error->set("code", static_cast<int>(s.error_code()));
    error->set("message", s.error_message());
    Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
    out->set("error", error);
    std::cout << JsonText(out) << "\n";
  } else {
    std::cerr << "lifeboatctl: " << s.error_message() << "\n";
  }
  return ExitFor(s);
}

int Complain(const std::string& message, int code) {
  std::cerr << "lifeboatctl: " << message << "\n";
  return code;
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

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

void PrintRollout(const v1::Rollout& r) {
  const auto& p = r.progress();
  std::cout << "rollout " << r.id() << ": " << StateName(r.state()) << ", image "
            << r.spec().image_version()
            << (r.rollback_of() ? " (rollback of " + std::to_string(r.rollback_of()) + ")" : "")
            << "\n  machines  " << p.targeted() << " targeted: " << p.succeeded() << " succeeded, "
            << p.failed() << " failed, " << p.in_progress() << " in progress, " << p.pending()
            << " pending, " << p.skipped() << " skipped (offline)\n  wave      "
            << p.current_wave() + 1 << " of " << std::max(1, r.spec().waves_size()) << "\n";
  if (!r.message().empty()) std::cout << "  message   " << r.message() << "\n";
  std::cout << "  created   " << r.created_at() << "\n";
}

}  // namespace lifeboat::ctl
