// The controller's HTTP side (Poco::Net, used only in http_api.cpp): /healthz, /metrics in the
// Prometheus text format, the API's reads as JSON for tools that do not speak gRPC
// (/api/v1/fleet, images, rollouts and their machines, machines with paging and filters,
// machines.csv, pending, audit, session), an operator's actions as POSTs (a rollout paused,
// resumed, aborted, rolled back; a machine's boot into recovery), all in docs/openapi.yaml, and
// the web dashboard under /ui/ (controller/dashboard.h). The JSON is the same messages the gRPC
// API returns (controller/api_reads.h, api_actions.h), in the one shape of docs/json.md
// (proto/api_json.h).
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "controller/access.h"
#include "controller/api_actions.h"
#include "controller/api_reads.h"
#include "controller/fleet.h"
#include "controller/metrics.h"
#include "controller/metrics_text.h"

namespace Poco::Net {
class HTTPServer;
}

namespace lifeboat::controller {

// What the HTTP side answers from.
struct HttpApiParts {
  Fleet& fleet;
  ApiReads& reads;
  ApiActions& actions;
  RpcMetrics& rpc_metrics;  // the gRPC calls', shown on /metrics
  Access& access;
  std::vector<CertificateExpiry> certificates;  // the controller's own, for /metrics
};

class HttpApi {
 public:
  // Serves HTTPS on "host:port" (port 0 picks a free one) with the controller's server key and
  // certificate (PEM files). /healthz and the dashboard's files are open; every /api/v1 read
  // needs a viewer's token (Authorization: Bearer ...), as over gRPC, the audit log an admin's,
  // and the POSTs an operator's. Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<HttpApi>> Start(const std::string& listen,
                                                              const HttpApiParts& parts,
                                                              const std::string& key_file,
                                                              const std::string& certificate_file);
  ~HttpApi();
  [[nodiscard]] int port() const { return port_; }

 private:
  HttpApi() = default;
  RpcMetrics http_metrics_{"lifeboat_http", "path", "HTTP requests"};
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace lifeboat::controller
