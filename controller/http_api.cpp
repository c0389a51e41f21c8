#include "controller/http_api.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <sstream>

#include "common/units.h"
#include "controller/proto_convert.h"
#include "proto/api_json.h"

namespace lifeboat::controller {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

std::string Json(const google::protobuf::Message& m) { return api::MessageJson(m, false); }

// A Prometheus label value: backslash, double quote and line feed escaped, as its text format
// requires.
std::string LabelValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void Send(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& type,
          const std::string& body) {
  response.setStatus(status);
  response.setContentType(type);
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

void SendError(HTTPServerResponse& response, const Error& e) {
  auto status = e.code == ErrorCode::kNotFound           ? HTTPResponse::HTTP_NOT_FOUND
                : e.code == ErrorCode::kInvalidArgument  ? HTTPResponse::HTTP_BAD_REQUEST
                : e.code == ErrorCode::kUnauthenticated  ? HTTPResponse::HTTP_UNAUTHORIZED
                : e.code == ErrorCode::kPermissionDenied ? HTTPResponse::HTTP_FORBIDDEN
                                                         : HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
  Send(response, status, "application/json",
       api::Text(api::ErrorObject(ErrorCodeName(e.code), e.message, e.field, e.reason)) + "\n");
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(Fleet& fleet, RpcMetrics& metrics, const Access& access)
      : fleet_(fleet), metrics_(metrics), access_(access) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    // Percent-decoded, so that a machine id with a blank or any other byte can be asked for.
    std::string path;
    Poco::URI::decode(request.getURI().substr(0, request.getURI().find('?')), path);
    if (request.getMethod() != "GET") {
      Send(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "text/plain", "read-only: GET only\n");
      return;
    }
    if (path == "/healthz") {
      // Healthy when the store answers and its file is sound, not merely when we are up.
      if (auto health = fleet_.StoreHealth(); !health) {
        Send(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "text/plain",
             "unhealthy: " + health.error().message + "\n");
        return;
      }
      Send(response, HTTPResponse::HTTP_OK, "text/plain", "ok\n");
      return;
    }
    // Everything but /healthz is a viewer's read, as over gRPC.
    auto who = access_.Authorize(request.get("Authorization", ""), Role::kViewer);
    if (!who) {
      if (who.error().code == ErrorCode::kUnauthenticated)
        response.set("WWW-Authenticate", "Bearer");
      return SendError(response, who.error());
    }
    if (path == "/metrics") {
      Send(response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4",
           MetricsText(fleet_, metrics_));
    } else if (path == "/api/v1/machines") {
      auto machines = fleet_.Machines({});
      if (!machines) return SendError(response, machines.error());
      v1::ListMachinesResponse out;
      for (const auto& m : *machines) ToProto(m, out.add_machines());
      Send(response, HTTPResponse::HTTP_OK, "application/json", Json(out) + "\n");
    } else if (path.starts_with("/api/v1/machines/")) {
      auto view = fleet_.Machine(path.substr(17));
      if (!view) return SendError(response, view.error());
      v1::GetMachineResponse out;
      ToProto(view->machine, out.mutable_machine());
      for (const auto& a : view->attempts) ToProto(a, out.add_attempts());
      Send(response, HTTPResponse::HTTP_OK, "application/json", Json(out) + "\n");
    } else if (path.starts_with("/api/v1/rollouts/")) {
      const std::string id = path.substr(17);
      const auto number = ParseNumber(id);
      if (!number) {
        return SendError(
            response, {ErrorCode::kInvalidArgument, "id: '" + id + "' is not a rollout id", "id"});
      }
      auto view = fleet_.Rollout(*number);
      if (!view) return SendError(response, view.error());
      v1::GetRolloutResponse out;
      ToProto(*view, out.mutable_rollout());
      Send(response, HTTPResponse::HTTP_OK, "application/json", Json(out) + "\n");
    } else {
      Send(response, HTTPResponse::HTTP_NOT_FOUND, "text/plain",
           "not found; try /healthz, /metrics, /api/v1/machines, /api/v1/machines/{id}, "
           "/api/v1/rollouts/{id}\n");
    }
  }

 private:
  Fleet& fleet_;
  RpcMetrics& metrics_;
  const Access& access_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(Fleet& fleet, RpcMetrics& metrics, const Access& access)
      : fleet_(fleet), metrics_(metrics), access_(access) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(fleet_, metrics_, access_);
  }

 private:
  Fleet& fleet_;
  RpcMetrics& metrics_;
  const Access& access_;
};

}  // namespace

std::string MetricsText(Fleet& fleet, const RpcMetrics& metrics) {
  std::ostringstream out;
  if (auto s = fleet.Summary()) {
    out << "# HELP lifeboat_machines Machines known to the controller, by agent state.\n"
        << "# TYPE lifeboat_machines gauge\n";
    for (const auto& [state, n] : s->by_state)
      out << "lifeboat_machines{state=\"" << LabelValue(state) << "\"} " << n << "\n";
    out << "# HELP lifeboat_machines_by_version Machines by installed recovery image version.\n"
        << "# TYPE lifeboat_machines_by_version gauge\n";
    for (const auto& [version, n] : s->by_version)
      out << "lifeboat_machines_by_version{version=\"" << LabelValue(version) << "\"} " << n
          << "\n";
    out << "# HELP lifeboat_machines_offline Machines silent for longer than offline_after.\n"
        << "# TYPE lifeboat_machines_offline gauge\n"
        << "lifeboat_machines_offline " << s->offline << "\n";
  }
  if (auto rollouts = fleet.Rollouts()) {
    out << "# HELP lifeboat_rollout_machines Machines of each rollout, by outcome.\n"
        << "# TYPE lifeboat_rollout_machines gauge\n";
    for (const auto& r : *rollouts) {
      const auto& e = r.evaluation;
      const std::string labels = "rollout=\"" + std::to_string(r.rollout.id) + "\",state=\"" +
                                 RolloutStateName(r.rollout.state) + "\"";
      out << "lifeboat_rollout_machines{" << labels << ",outcome=\"pending\"} " << e.pending << "\n"
          << "lifeboat_rollout_machines{" << labels << ",outcome=\"in_progress\"} " << e.in_progress
          << "\n"
          << "lifeboat_rollout_machines{" << labels << ",outcome=\"succeeded\"} " << e.succeeded
          << "\n"
          << "lifeboat_rollout_machines{" << labels << ",outcome=\"failed\"} " << e.failed << "\n"
          << "lifeboat_rollout_machines{" << labels << ",outcome=\"skipped\"} " << e.skipped
          << "\n";
    }
  }
  out << metrics.Prometheus();
  return out.str();
}

Result<std::unique_ptr<HttpApi>> HttpApi::Start(const std::string& listen, Fleet& fleet,
                                                RpcMetrics& metrics, const Access& access,
                                                const std::string& key_file,
                                                const std::string& certificate_file) {
  try {
    Poco::Net::initializeSSL();
    std::unique_ptr<HttpApi> api(new HttpApi);
    // TLS 1.2 and later; clients are not asked for certificates (they present tokens).
    Poco::Net::Context::Ptr tls =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, key_file, certificate_file, "",
                               Poco::Net::Context::VERIFY_NONE, 9, false, "HIGH:!aNULL:!MD5");
    tls->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::Net::SecureServerSocket socket{Poco::Net::SocketAddress(listen), 64, tls};
    api->port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    api->server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(fleet, metrics, access),
                                                           socket, params);
    api->server_->start();
    return api;
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kIo, "HTTP: cannot listen on " + listen + ": " + e.displayText());
  }
}

HttpApi::~HttpApi() {
  if (server_) server_->stopAll(true);
}

}  // namespace lifeboat::controller
