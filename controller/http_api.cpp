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

#include <array>
#include <chrono>
#include <sstream>

#include "common/units.h"
#include "controller/dashboard.h"
#include "controller/http_query.h"
#include "controller/listing.h"
#include "controller/proto_convert.h"
#include "proto/api_json.h"

namespace lifeboat::controller {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

std::string Json(const google::protobuf::Message& m) { return api::MessageJson(m, false); }

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

// The paths of the API, for the answer to an unknown one (tests/support/check-openapi reads them
// up to "(docs").
constexpr const char* kPaths =
    "/healthz, /metrics, /api/v1/session, /api/v1/fleet, /api/v1/images, "
    "/api/v1/images/{version}, /api/v1/rollouts, /api/v1/rollouts/{id}, "
    "/api/v1/rollouts/{id}/machines, /api/v1/rollouts/{id}/pause (POST), "
    "/api/v1/rollouts/{id}/resume (POST), /api/v1/rollouts/{id}/abort (POST), "
    "/api/v1/rollouts/{id}/rollback (POST), /api/v1/machines, /api/v1/machines.csv, "
    "/api/v1/machines/{id}, /api/v1/machines/{id}/boot-recovery (POST), /api/v1/pending, "
    "/api/v1/audit (docs/openapi.yaml); the dashboard is at /ui/";

// A POST's body is a few fields: anything longer is refused unread.
constexpr std::streamsize kMaxBodyBytes = 64 * 1024;

std::string RouteTail(const std::string& tail);

// The path as the metrics count it: its ids as {id}, anything unknown as one name, so that the
// series stay few whatever is asked.
std::string RouteName(const std::string& path) {
  for (const char* fixed : {"/", "/healthz", "/metrics", "/api/v1/session", "/api/v1/fleet",
                            "/api/v1/images", "/api/v1/rollouts", "/api/v1/machines",
                            "/api/v1/machines.csv", "/api/v1/pending", "/api/v1/audit"})
    if (path == fixed) return fixed;
  if (path.starts_with("/ui/")) return "/ui/";
  if (path.starts_with("/api/v1/images/")) return "/api/v1/images/{version}";
  if (path.starts_with("/api/v1/rollouts/")) {
    const std::string rest = path.substr(17);
    const auto slash = rest.find('/');
    return slash == std::string::npos
               ? "/api/v1/rollouts/{id}"
               : "/api/v1/rollouts/{id}/" + RouteTail(rest.substr(slash + 1));
  }
  if (path.starts_with("/api/v1/machines/"))
    return path.ends_with("/boot-recovery") ? "/api/v1/machines/{id}/boot-recovery"
                                            : "/api/v1/machines/{id}";
  return "(other)";
}

// What the metrics name a rollout's sub-path: its known names, anything else as one.
std::string RouteTail(const std::string& tail) {
  for (const char* known : {"machines", "pause", "resume", "abort", "rollback"})
    if (tail == known) return known;
  return "(other)";
}

// Records a request in the HTTP metrics when it has been answered, whatever way it ends.
class Timed {
 public:
  Timed(RpcMetrics& metrics, std::string route, const HTTPServerResponse& response)
      : metrics_(metrics),
        route_(std::move(route)),
        response_(response),
        start_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    metrics_.Record(
        route_, static_cast<int>(response_.getStatus()),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  RpcMetrics& metrics_;
  const std::string route_;
  const HTTPServerResponse& response_;
  const std::chrono::steady_clock::time_point start_;
};

// A rollout's id and what follows it in /api/v1/rollouts/{id}[/{tail}].
struct RolloutPath {
  uint64_t id = 0;
  std::string tail;
};
Result<RolloutPath> ParseRolloutPath(const std::string& path) {
  const std::string rest = path.substr(17);
  const auto slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const auto number = ParseNumber(id);
  if (!number) return BadInput("id", "id: '" + id + "' is not a rollout id");
  return RolloutPath{*number, slash == std::string::npos ? "" : rest.substr(slash + 1)};
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const HttpApiParts& parts, RpcMetrics& http_metrics)
      : fleet_(parts.fleet),
        reads_(parts.reads),
        actions_(parts.actions),
        metrics_(parts.rpc_metrics),
        http_metrics_(http_metrics),
        access_(parts.access),
        certificates_(parts.certificates) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    // Percent-decoded, so that a machine id with a blank or any other byte can be asked for.
    std::string path;
    Poco::URI::decode(request.getURI().substr(0, request.getURI().find('?')), path);
    const Timed timed(http_metrics_, RouteName(path), response);
    QueryParameters query;
    try {
      query = Poco::URI(request.getURI()).getQueryParameters();
    } catch (const Poco::Exception& e) {
      return SendError(response, {ErrorCode::kInvalidArgument, "query: " + e.displayText()});
    }
    response.set("X-Content-Type-Options", "nosniff");
    const bool post = request.getMethod() == "POST";
    if (!post && request.getMethod() != "GET") {
      response.set("Allow", "GET, POST");
      Send(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "text/plain",
           "GET for reads, POST for an operator's actions\n");
      return;
    }
    if (!post && (path == "/" || path.starts_with("/ui/"))) return ServeDashboard(path, response);
    if (!post && path == "/healthz") {
      // Healthy when the store answers and its file is sound, not merely when we are up.
      if (auto health = fleet_.StoreHealth(); !health) {
        Send(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "text/plain",
             "unhealthy: " + health.error().message + "\n");
        return;
      }
      Send(response, HTTPResponse::HTTP_OK, "text/plain", "ok\n");
      return;
    }
    // Every read is a viewer's, as over gRPC; the audit log an admin's; every POST an
    // operator's. A refused action is recorded, as gRPC records it.
    const Role needed = post                      ? Role::kOperator
                        : path == "/api/v1/audit" ? Role::kAdmin
                                                  : Role::kViewer;
    const std::string peer = "https:" + request.clientAddress().toString();
    auto who = access_.Identify(request.get("Authorization", ""));
    Result<void> allowed = who ? Access::Allow(*who, needed) : std::unexpected(who.error());
    if (!allowed) {
      // A refused action is recorded; a POST to no action is not worth a line of the log.
      if (post && !ActionName(path).starts_with("POST "))
        (void)access_.Audit({0, "", who ? who->name : "", ActionName(path), "", "denied",
                             allowed.error().message, peer});
      if (allowed.error().code == ErrorCode::kUnauthenticated)
        response.set("WWW-Authenticate", "Bearer");
      return SendError(response, allowed.error());
    }
    if (post) return Act(path, query, {who->name, peer}, request, response);
    if (path == "/api/v1/session") {
      if (auto none = NoQuery(query); !none) return SendError(response, none.error());
      Poco::JSON::Object::Ptr session = new Poco::JSON::Object;
      session->set("name", who->name);
      session->set("role", std::string(RoleName(who->role)));
      return Send(response, HTTPResponse::HTTP_OK, "application/json", api::Text(session) + "\n");
    }
    Route(path, query, response);
  }

 private:
  // Answers a read with its response message as JSON, or its error.
  template <typename R>
  void Answer(HTTPServerResponse& response, const R& result) {
    if (!result) return SendError(response, result.error());
    Send(response, HTTPResponse::HTTP_OK, "application/json", Json(*result) + "\n");
  }

  // The dashboard's files; "/" leads to it.
  static void ServeDashboard(const std::string& path, HTTPServerResponse& response) {
    if (path == "/") {
      response.redirect("/ui/", HTTPResponse::HTTP_FOUND);
      return;
    }
    const auto asset = FindDashboardAsset(path);
    if (!asset) {
      Send(response, HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not a file of the dashboard\n");
      return;
    }
    for (const auto& [name, value] : kDashboardHeaders) response.set(name, value);
    Send(response, HTTPResponse::HTTP_OK, std::string(asset->content_type),
         std::string(asset->bytes));
  }

  // The audit log's name for the action a POST to `path` asks for.
  static std::string ActionName(const std::string& path) {
    if (path.ends_with("/boot-recovery")) return "RequestBootRecovery";
    for (auto action : {RolloutAction::kPause, RolloutAction::kResume, RolloutAction::kAbort,
                        RolloutAction::kRollback}) {
      std::string name = RolloutActionName(action);
      name = name.substr(0, name.size() - 7);  // "Pause" of "PauseRollout"
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (path.ends_with("/" + name)) return RolloutActionName(action);
    }
    return "POST " + path.substr(0, 100);
  }

  // An operator's action: a rollout's pause, resume, abort or rollback, or a machine's boot into
  // recovery. Answered with the rollout or the machine as it then stands.
  void Act(const std::string& path, const QueryParameters& query, const ActionCaller& caller,
           HTTPServerRequest& request, HTTPServerResponse& response) {
    if (auto none = NoQuery(query); !none) return SendError(response, none.error());
    if (request.getContentLength() > kMaxBodyBytes)
      return SendError(response, {ErrorCode::kInvalidArgument, "body: over 64 KiB", "body"});
    std::string body(static_cast<size_t>(std::max<std::streamsize>(0, request.getContentLength())),
                     '\0');
    if (!body.empty())
      request.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
    if (path.starts_with("/api/v1/rollouts/")) {
      auto target = ParseRolloutPath(path);
      if (!target) return SendError(response, target.error());
      std::optional<RolloutAction> action;
      for (auto a : {RolloutAction::kPause, RolloutAction::kResume, RolloutAction::kAbort,
                     RolloutAction::kRollback})
        if (ActionName(path) == RolloutActionName(a)) action = a;
      if (!action || target->tail.find('/') != std::string::npos)
        return target->tail.empty() || target->tail == "machines" ? OnlyGet(response)
                                                                  : NotFound(response);
      if (!body.empty() && body.find_first_not_of(" \t\r\n{}") != std::string::npos)
        return SendError(response,
                         {ErrorCode::kInvalidArgument, "body: this action takes none", "body"});
      auto rollout = actions_.ChangeRollout(caller, *action, target->id);
      if (!rollout) return SendError(response, rollout.error());
      v1::GetRolloutResponse answer;
      *answer.mutable_rollout() = std::move(*rollout);
      return Answer(response, Result<v1::GetRolloutResponse>(std::move(answer)));
    }
    if (path.starts_with("/api/v1/machines/") && path.ends_with("/boot-recovery")) {
      const std::string id = path.substr(17, path.size() - 17 - 14);
      auto asked = BootRecoveryBody(id, body);
      if (!asked) return SendError(response, asked.error());
      return Answer(response, actions_.RequestBootRecovery(caller, *asked));
    }
    RouteName(path) == "(other)" ? NotFound(response) : OnlyGet(response);
  }

  // A path that is there, for another method.
  static void OnlyGet(HTTPServerResponse& response) { OnlyMethod(response, "GET"); }
  static void OnlyMethod(HTTPServerResponse& response, const char* method) {
    response.set("Allow", method);
    Send(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "text/plain",
         std::string("this path takes ") + method + " only\n");
  }

  static void NotFound(HTTPServerResponse& response) {
    Send(response, HTTPResponse::HTTP_NOT_FOUND, "text/plain",
         std::string("not found; the paths are ") + kPaths + "\n");
  }

  void Route(const std::string& path, const QueryParameters& query, HTTPServerResponse& response) {
    // A path that takes no parameters is refused one, as a listing refuses an unknown one.
    auto plain = [&]() -> bool {
      auto none = NoQuery(query);
      if (!none) SendError(response, none.error());
      return static_cast<bool>(none);
    };
    if (path == "/metrics") {
      if (plain())
        Send(response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4",
             MetricsText(fleet_, metrics_, http_metrics_, certificates_));
    } else if (path == "/api/v1/fleet") {
      if (plain()) Answer(response, reads_.FleetSummary());
    } else if (path == "/api/v1/images") {
      auto asked = ImagesQuery(query);
      if (!asked) return SendError(response, asked.error());
      Answer(response, reads_.ListImages(*asked));
    } else if (path.starts_with("/api/v1/images/")) {
      v1::GetImageRequest asked;
      asked.set_version(path.substr(15));
      if (plain()) Answer(response, reads_.GetImage(asked));
    } else if (path == "/api/v1/rollouts") {
      if (plain()) Answer(response, reads_.ListRollouts());
    } else if (path.starts_with("/api/v1/rollouts/")) {
      auto target = ParseRolloutPath(path);
      if (!target) return SendError(response, target.error());
      if (target->tail == "machines") {
        auto asked = RolloutMachinesQuery(target->id, query);
        if (!asked) return SendError(response, asked.error());
        return Answer(response, reads_.ListRolloutMachines(*asked));
      }
      if (!target->tail.empty())
        return RouteName(path) == "/api/v1/rollouts/{id}/(other)" ? NotFound(response)
                                                                  : OnlyMethod(response, "POST");
      v1::GetRolloutRequest asked;
      asked.set_id(target->id);
      if (plain()) Answer(response, reads_.GetRollout(asked));
    } else if (path == "/api/v1/machines") {
      auto asked = MachinesQuery(query);
      if (!asked) return SendError(response, asked.error());
      Answer(response, reads_.ListMachines(*asked));
    } else if (path == "/api/v1/machines.csv") {
      SendMachinesCsv(query, response);
    } else if (path.starts_with("/api/v1/machines/") && path.ends_with("/boot-recovery")) {
      OnlyMethod(response, "POST");
    } else if (path.starts_with("/api/v1/machines/")) {
      v1::GetMachineRequest asked;
      asked.set_id(path.substr(17));
      if (plain()) Answer(response, reads_.GetMachine(asked));
    } else if (path == "/api/v1/pending") {
      if (plain()) Answer(response, reads_.ListPendingMachines());
    } else if (path == "/api/v1/audit") {
      auto asked = AuditQuery(query);
      if (!asked) return SendError(response, asked.error());
      Answer(response, reads_.ListAudit(*asked));
    } else {
      NotFound(response);
    }
  }

  // Every machine the filters match (all pages; page_size and page_token are refused), one CSV
  // line each, sent in chunks as the pages are read.
  void SendMachinesCsv(const QueryParameters& query, HTTPServerResponse& response) {
    for (const auto& [name, value] : query) {
      if (name == "page_size" || name == "page_token")
        return SendError(response, {ErrorCode::kInvalidArgument,
                                    name + ": the CSV export holds every matching machine", name});
    }
    auto asked = MachinesQuery(query);
    if (!asked) return SendError(response, asked.error());
    asked->set_page_size(kMaxMachinePageSize);
    auto page = reads_.ListMachines(*asked);
    if (!page) return SendError(response, page.error());
    response.setStatus(HTTPResponse::HTTP_OK);
    response.setContentType("text/csv; charset=utf-8");
    response.set("Content-Disposition", "attachment; filename=\"machines.csv\"");
    response.setChunkedTransferEncoding(true);
    std::ostream& out = response.send();
    out << MachinesCsvHeader();
    while (true) {
      for (const auto& m : page->machines()) out << MachineCsvLine(m);
      if (page->next_page_token().empty()) break;
      asked->set_page_token(page->next_page_token());
      page = reads_.ListMachines(*asked);
      // The status is sent already: a failure ends the export with a line that says so.
      if (!page) {
        out << "# export cut short: " << page.error().message << "\r\n";
        break;
      }
    }
  }

  Fleet& fleet_;
  ApiReads& reads_;
  ApiActions& actions_;
  RpcMetrics& metrics_;
  RpcMetrics& http_metrics_;
  Access& access_;
  const std::vector<CertificateExpiry>& certificates_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const HttpApiParts& parts, RpcMetrics& http_metrics)
      : parts_(parts), http_metrics_(http_metrics) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(parts_, http_metrics_);
  }

 private:
  const HttpApiParts parts_;
  RpcMetrics& http_metrics_;
};

}  // namespace

Result<std::unique_ptr<HttpApi>> HttpApi::Start(const std::string& listen,
                                                const HttpApiParts& parts,
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
    api->server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(parts, api->http_metrics_),
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
