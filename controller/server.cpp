#include "controller/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "common/files.h"
#include "common/pki.h"
#include "controller/tls_setup.h"

namespace lifeboat::controller {

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  std::unique_ptr<Server> s(new Server);
  auto store = FleetStore::OpenSqlite(options.data_dir + "/fleet.db");
  LIFEBOAT_TRY(store);
  s->store_ = std::move(*store);
  s->fleet_ =
      std::make_unique<Fleet>(*s->store_, options.data_dir, Clock::now, options.offline_after);
  s->access_ = std::make_unique<Access>(s->store_->access());
  auto first_admin = s->access_->Bootstrap(options.data_dir + "/admin.token");
  LIFEBOAT_TRY(first_admin);
  if (*first_admin)
    s->notes_.push_back("the first admin's token is in " + options.data_dir +
                        "/admin.token (readable by this service's user only): lifeboatctl "
                        "--token-file takes it; `lifeboatctl operator add` makes more");
  Server* server = s.get();
  s->admission_ = std::make_unique<Admission>(s->store_->identities(), *s->fleet_, [server] {
    if (server->netboot_) server->netboot_->Poke();
  });
  if (!options.webhook_urls.empty()) {
    auto webhooks =
        WebhookSender::Start(s->store_->webhooks(), {options.webhook_urls, options.webhook_secret});
    LIFEBOAT_TRY(webhooks);
    s->webhooks_ = std::move(*webhooks);
    auto tell = [w = s->webhooks_.get()](const FleetEvent& e) { w->Notify(e); };
    s->fleet_->SetEventSink(tell);
    s->admission_->SetEventSink(tell);
  }
  std::vector<std::string> tls_names = options.tls_names;
  if (!options.netboot_address.empty())  // the service environment checks the name it dials
    tls_names.push_back(options.netboot_address.substr(0, options.netboot_address.rfind(':')));
  auto tls = LoadOrCreateTls(options.data_dir, tls_names);
  LIFEBOAT_TRY(tls);
  if (tls->made_ca)
    s->notes_.push_back("made this controller's CA in " + options.data_dir +
                        "/tls; its certificate is " + options.data_dir +
                        "/ca.pem, which agents (ca = ...) and lifeboatctl (--ca) need");
  if (!options.netboot_dir.empty()) {
    NetbootSettings settings{options.netboot_dir,
                             options.service_env,
                             options.netboot_address,
                             tls->ca.certificate_pem,
                             {},
                             options.netboot_kernel_args,
                             ""};
    if (!options.netboot_http.empty()) {
      auto http = NetbootHttp::Start(options.netboot_http, options.netboot_dir);
      LIFEBOAT_TRY(http);
      s->netboot_http_ = std::move(*http);
      settings.http_address =
          options.netboot_address.substr(0, options.netboot_address.rfind(':')) + ":" +
          std::to_string(s->netboot_http_->port());
    }
    for (const auto& file : options.netboot_trusted_keys) {
      auto key = ReadTextFile(file);
      if (!key) return Fail(ErrorCode::kNotFound, "netboot_trusted_keys: cannot read " + file);
      settings.trusted_keys.push_back(*key);
    }
    auto tree = NetbootTree::Create(settings);
    LIFEBOAT_TRY(tree);
    s->netboot_ = std::make_unique<NetbootPublisher>(std::move(*tree), *s->admission_);
    auto recovery = NetworkRecovery::Start(options.netboot_dir, settings.http_address,
                                           *s->admission_, *s->fleet_, *s->access_);
    LIFEBOAT_TRY(recovery);
    s->network_recovery_ = std::move(*recovery);
    s->netboot_->OfferSiteEntry(
        [site = &s->network_recovery_->site()](const std::vector<NetbootEntry>& entries) {
          return site->Offer(entries);
        });
    LIFEBOAT_TRY(s->netboot_->PublishNow());
  }
  // Every agent contact is a new connection that never resumes a session: tickets are waste.
  LIFEBOAT_TRY(TurnOffTlsSessionTickets());
  s->agent_ = std::make_unique<AgentServiceImpl>(*s->fleet_, *s->access_, *s->admission_, tls->ca,
                                                 options.heartbeat_seconds,
                                                 options.agent_certificate_lifetime);
  // The first start made an admin whose token only root can read (DATA_DIR/admin.token).
  s->admin_ = std::make_unique<AdminServiceImpl>(*s->fleet_, *s->access_, *s->admission_,
                                                 s->network_recovery_.get());
  s->reads_ = std::make_unique<ApiReads>(*s->fleet_, *s->access_, *s->admission_);
  s->actions_ =
      std::make_unique<ApiActions>(*s->fleet_, *s->access_, *s->reads_, s->network_recovery_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // TLS always. A client certificate is checked against the controller's CA when one is shown;
  // which calls need one (agents) or a token (operators) is decided per call.
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls->ca.certificate_pem;
  ssl.pem_key_cert_pairs.push_back({tls->server.key_pem, ServedCertificateChain(*tls)});
  builder.AddListeningPort(options.listen, grpc::SslServerCredentials(ssl), &s->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.RegisterService(s->agent_.get());
  builder.RegisterService(s->admin_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(s->metrics_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return Fail(ErrorCode::kIo,
                "cannot listen on " + options.listen + " (in use, or not an address)");
  }
  if (!options.http_listen.empty()) {
    // The certificates' ends go to /metrics, for an alert well before.
    std::vector<CertificateExpiry> certificates;
    for (const auto& [name, pem] :
         {std::pair<const char*, const std::string&>{"server", tls->server.certificate_pem},
          {"ca", tls->ca.certificate_pem}})
      if (auto info = ReadCertificate(pem)) certificates.push_back({name, info->not_after});
    auto http = HttpApi::Start(
        options.http_listen,
        {*s->fleet_, *s->reads_, *s->actions_, s->metrics_, *s->access_, std::move(certificates)},
        options.data_dir + "/tls/server.key", options.data_dir + "/tls/server.pem");
    LIFEBOAT_TRY(http);
    s->http_ = std::move(*http);
  }
  return s;
}

Server::~Server() { Shutdown(); }

void Server::Wait() {
  if (server_) server_->Wait();
}

void Server::Shutdown() {
  if (netboot_) netboot_->OfferSiteEntry(nullptr);  // the entry goes with network_recovery_
  network_recovery_.reset();
  netboot_.reset();
  netboot_http_.reset();
  http_.reset();
  if (server_) server_->Shutdown();
  // Nothing calls in any more: the sinks go before the sender they point at.
  if (fleet_) fleet_->SetEventSink(nullptr);
  if (admission_) admission_->SetEventSink(nullptr);
  webhooks_.reset();
}

}  // namespace lifeboat::controller
