// A running controller: the store, the domain and the gRPC server with both services, gRPC
// health checking and server reflection. Used by lifeboat-controller and by tests (port 0 picks
// a free port).
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/admission.h"
#include "controller/fleet.h"
#include "controller/fleet_store.h"
#include "controller/grpc_services.h"
#include "controller/http_api.h"
#include "controller/metrics.h"
#include "controller/netboot.h"
#include "controller/netboot_http.h"
#include "controller/webhooks.h"

namespace lifeboat::controller {

struct ServerOptions {
  std::string listen = "127.0.0.1:7443";
  std::string data_dir = "/var/lib/lifeboat-controller";
  uint32_t heartbeat_seconds = 30;
  std::chrono::seconds offline_after = kDefaultOfflineAfter;  // silent this long: offline
  // How long an agent's client certificate is valid; agents renew theirs well before the end.
  std::chrono::seconds agent_certificate_lifetime = kDefaultAgentCertificateLifetime;
  int max_message_bytes = 8 << 20;     // larger messages are refused (RESOURCE_EXHAUSTED)
  std::string http_listen;             // /healthz, /metrics, /api/v1/...; empty: no HTTP
  std::vector<std::string> tls_names;  // names (or addresses) clients reach the controller by
  // The network service environment (controller/netboot.h); off when netboot_dir is empty.
  std::string netboot_dir;      // the TFTP tree to render
  std::string netboot_address;  // HOST:PORT machines reach this controller's gRPC at
  std::string service_env;      // packaging/service-env/build's OUTDIR
  std::string netboot_kernel_args = "quiet console=ttyS0,115200 console=tty0";
  std::vector<std::string> netboot_trusted_keys;  // public key files, for the service environment
  // Where to serve the tree over plain HTTP too ("host:port", port 0 picks one); machines reach
  // it at netboot_address's host and this port. Empty: TFTP only.
  std::string netboot_http;
  // Webhooks (controller/webhooks.h): where fleet events are POSTed, and the key they are signed
  // with. No URLs: none.
  std::vector<std::string> webhook_urls;
  std::string webhook_secret;
};

class Server {
 public:
  // Opens the store in data_dir/fleet.db and starts serving. Errors: kDatabase, kIo (bind).
  [[nodiscard]] static Result<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int http_port() const { return http_ ? http_->port() : 0; }
  // What this start made that an operator must know of (the first admin's token, a new CA).
  [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
  [[nodiscard]] int netboot_http_port() const { return netboot_http_ ? netboot_http_->port() : 0; }
  void Wait();
  void Shutdown();

 private:
  Server() = default;
  std::unique_ptr<FleetStore> store_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<Access> access_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<NetbootHttp> netboot_http_;
  std::unique_ptr<NetbootPublisher> netboot_;
  std::unique_ptr<NetworkRecovery> network_recovery_;  // with the tree
  std::unique_ptr<AgentServiceImpl> agent_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<ApiReads> reads_;      // the API's reads, for HTTP
  std::unique_ptr<ApiActions> actions_;  // and its actions
  std::unique_ptr<WebhookSender> webhooks_;
  RpcMetrics metrics_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpApi> http_;
  int port_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace lifeboat::controller
