// The controller's HTTP side (Poco::Net, used only in http_api.cpp): /healthz, /metrics in the
// Prometheus text format, and read-only JSON for tools that do not speak gRPC:
// /api/v1/machines, /api/v1/machines/{id}, /api/v1/rollouts/{id}. The JSON is the same messages
// the gRPC API returns, in the one shape of docs/json.md (proto/api_json.h).
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "controller/access.h"
#include "controller/fleet.h"
#include "controller/metrics.h"

namespace Poco::Net {
class HTTPServer;
}

namespace lifeboat::controller {

class HttpApi {
 public:
  // Serves HTTPS on "host:port" (port 0 picks a free one) with the controller's server key and
  // certificate (PEM files). /healthz is open; everything else needs a viewer's token
  // (Authorization: Bearer ...), as over gRPC. Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<HttpApi>> Start(const std::string& listen,
                                                              Fleet& fleet, RpcMetrics& metrics,
                                                              const Access& access,
                                                              const std::string& key_file,
                                                              const std::string& certificate_file);
  ~HttpApi();
  [[nodiscard]] int port() const { return port_; }

 private:
  HttpApi() = default;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

// The body of /metrics: machines by state and version, rollout progress, RPC counts and latencies.
std::string MetricsText(Fleet& fleet, const RpcMetrics& metrics);

}  // namespace lifeboat::controller
