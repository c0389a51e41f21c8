// lifeboat-controller: the daemon that keeps the image catalog, the fleet and its rollouts, and
// serves AgentService and AdminService over gRPC (with health checking and reflection).
#include <absl/synchronization/mutex.h>
#include <grpc/support/log.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "common/cli.h"
#include "common/config_file.h"
#include "common/version.h"
#include "controller/server.h"

namespace {

constexpr const char* kAbout = R"(
gRPC is TLS only. On the first start the controller makes its own CA and server certificate in
DIR/tls (or uses ca.key/ca.pem, server.key/server.pem put there before) and copies the CA
certificate to DIR/ca.pem: agents (ca = ...) and lifeboatctl (--ca) verify the controller with it.
A flag overrides the config file. Stops cleanly on SIGINT or SIGTERM.
Exit codes: 0 stopped, 1 could not start, 2 usage.
)";

lifeboat::controller::Server* g_server = nullptr;

// gRPC reports a refused TLS handshake (a plaintext client, a certificate from another CA) only
// at its debug level. The controller logs those lines and gRPC's errors, nothing else of it.
void LogGrpc(gpr_log_func_args* args) {
  const std::string_view message = args->message;
  if (args->severity == GPR_LOG_SEVERITY_ERROR ||
      message.find("Security handshake failed") != std::string_view::npos)
    std::cerr << "lifeboat-controller: refused connection: " << message << std::endl;
}

// "a, b,,c" -> {"a", "b", "c"}: a list setting's items, trimmed, empty ones left out.
std::vector<std::string> CommaList(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!lifeboat::Trim(item).empty()) items.push_back(lifeboat::Trim(item));
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lifeboat;
  CLI::App app{"lifeboat-controller - image catalog, rollouts and fleet state for Lifeboat agents",
               "lifeboat-controller"};
  StyleHelp(app);
  app.set_version_flag("--version", std::string("lifeboat-controller ") + kLifeboatVersion,
                       "print the version and exit");
  app.footer(kAbout);
  std::string config_path, listen, http, data_dir, heartbeat, offline_after, tls_names;
  std::string netboot_dir, netboot_address, service_env, kernel_args, trusted_keys, netboot_http;
  std::string webhook_urls, webhook_secret_file, certificate_lifetime;
  app.add_option("--config", config_path,
                 "key = value lines: listen, http_listen, data_dir, heartbeat_seconds, "
                 "offline_after_seconds, tls_names, netboot_dir, netboot_address, service_env, "
                 "netboot_kernel_args, netboot_trusted_keys, netboot_http, webhook_urls, "
                 "webhook_secret_file, agent_certificate_lifetime ('#' starts a comment)")
      ->type_name("FILE");
  app.add_option("--listen", listen,
                 "gRPC address (default 127.0.0.1:7443; port 0 picks a free one, which is "
                 "printed)")
      ->type_name("ADDR");
  app.add_option("--http", http,
                 "HTTPS address for /healthz, /metrics and /api/v1/... (default 127.0.0.1:7080; "
                 "\"off\" for none)")
      ->type_name("ADDR");
  app.add_option("--data-dir", data_dir,
                 "state: fleet.db (SQLite) and images/ (default /var/lib/lifeboat-controller)")
      ->type_name("DIR");
  app.add_option("--heartbeat-seconds", heartbeat, "how often agents call in (default 30s)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  app.add_option("--offline-after", offline_after,
                 "a machine silent this long is shown offline, and rollouts skip it once their "
                 "machine deadline has passed (default 10m)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  app.add_option("--agent-certificate-lifetime", certificate_lifetime,
                 "how long the client certificates given to agents at enrollment are valid "
                 "(default 825d, at least 2d); agents renew theirs when a third of it is left")
      ->type_name("DURATION")
      ->check(DurationCheck());
  app.add_option("--tls-names", tls_names,
                 "names and addresses agents and operators reach this controller by, for its "
                 "server certificate (localhost, 127.0.0.1, ::1 and the host name are always in "
                 "it)")
      ->type_name("NAME,NAME");
  app.add_option("--netboot-dir", netboot_dir,
                 "render the network boot tree here, for the site's TFTP server: the loaders "
                 "(uefi/bootx64.efi, bios/lifeboat.0), grub/grub.cfg, the service environment and "
                 "each known machine's boot choice (docs/deployment.md)")
      ->type_name("DIR");
  app.add_option("--netboot-address", netboot_address,
                 "where network-booted machines reach this controller's gRPC (needed with "
                 "--netboot-dir; its host is added to the server certificate's names)")
      ->type_name("HOST:PORT");
  app.add_option("--service-env", service_env,
                 "the service environment built by packaging/service-env/build OUTDIR (needed "
                 "with --netboot-dir)")
      ->type_name("OUTDIR");
  app.add_option("--netboot-kernel-args", kernel_args,
                 "the service environment's kernel command line (default: quiet "
                 "console=ttyS0,115200 console=tty0; add lifeboat.after=poweroff to power machines "
                 "off after a visit)")
      ->type_name("ARGS");
  app.add_option("--netboot-trusted-keys", trusted_keys,
                 "public key files the service environment's agent trusts image signatures of")
      ->type_name("FILE,FILE");
  app.add_option("--netboot-http", netboot_http,
                 "also serve the network boot tree over plain HTTP here (port 0 picks a free "
                 "one), read-only, with byte ranges; GRUB then loads the service environment "
                 "over HTTP, about twice as fast as TFTP. Machines reach it at --netboot-address's "
                 "host. Default: TFTP only")
      ->type_name("HOST:PORT");
  app.add_option("--webhooks", webhook_urls,
                 "POST each fleet event (a rollout halted, completed or completed with failures, "
                 "a machine failed, a machine pending acceptance) as signed JSON to these URLs, "
                 "retried with backoff until delivered (docs/webhooks.md)")
      ->type_name("URL,URL");
  app.add_option("--webhook-secret-file", webhook_secret_file,
                 "the file holding the shared secret webhooks are signed with (HMAC-SHA256, "
                 "header X-Lifeboat-Signature); needed with --webhooks")
      ->type_name("FILE");
  if (auto exit = ParseCommandLine(app, argc, argv)) return *exit;

  // Each setting from its flag, else the config file (with where it was written), else the
  // default.
  std::map<std::string, ConfigEntry> config;
  if (!config_path.empty()) {
    auto entries = ReadConfigFile(
        config_path, {"listen", "http_listen", "data_dir", "heartbeat_seconds",
                      "offline_after_seconds", "tls_names", "netboot_dir", "netboot_address",
                      "service_env", "netboot_kernel_args", "netboot_trusted_keys", "netboot_http",
                      "webhook_urls", "webhook_secret_file", "agent_certificate_lifetime"});
    if (!entries) {
      std::cerr << "lifeboat-controller: " << entries.error().message << "\n";
      return kExitCommandLine;
    }
    for (const auto& e : *entries) config[e.key] = e;
  }
  auto setting = [&](const std::string& flag, const std::string& key,
                     std::string& where) -> std::optional<std::string> {
    if (!flag.empty()) {
      where = "--" + key;
      return flag;
    }
    if (auto it = config.find(key); it != config.end()) {
      where = it->second.where;
      return it->second.value;
    }
    return std::nullopt;
  };
  std::string where;
  controller::ServerOptions options;
  if (auto v = setting(listen, "listen", where)) options.listen = *v;
  if (auto v = setting(data_dir, "data_dir", where)) options.data_dir = *v;
  options.http_listen = setting(http, "http_listen", where).value_or("127.0.0.1:7080");
  if (options.http_listen == "off") options.http_listen.clear();
  if (auto v = setting(tls_names, "tls_names", where)) options.tls_names = CommaList(*v);
  if (auto v = setting(netboot_dir, "netboot_dir", where)) options.netboot_dir = *v;
  if (auto v = setting(netboot_address, "netboot_address", where)) options.netboot_address = *v;
  if (auto v = setting(service_env, "service_env", where)) options.service_env = *v;
  if (auto v = setting(kernel_args, "netboot_kernel_args", where)) options.netboot_kernel_args = *v;
  if (auto v = setting(netboot_http, "netboot_http", where)) options.netboot_http = *v;
  if (auto v = setting(trusted_keys, "netboot_trusted_keys", where))
    options.netboot_trusted_keys = CommaList(*v);
  if (auto v = setting(webhook_urls, "webhook_urls", where)) {
    options.webhook_urls = CommaList(*v);
    std::string secret_where;
    auto secret_file = setting(webhook_secret_file, "webhook_secret_file", secret_where);
    if (!secret_file) {
      std::cerr << "lifeboat-controller: " << where
                << ": webhooks need --webhook-secret-file (the shared secret they are signed "
                   "with)\n";
      return kExitCommandLine;
    }
    std::ifstream in(*secret_file);
    std::getline(in, options.webhook_secret);
    options.webhook_secret = Trim(options.webhook_secret);
    if (!in.good() && options.webhook_secret.empty()) {
      std::cerr << "lifeboat-controller: " << secret_where << ": cannot read a secret from "
                << *secret_file << "\n";
      return kExitCommandLine;
    }
  }
  if (!options.netboot_dir.empty() &&
      (options.service_env.empty() || options.netboot_address.empty() ||
       options.netboot_address.rfind(':') == std::string::npos)) {
    std::cerr << "lifeboat-controller: --netboot-dir needs --service-env OUTDIR and "
                 "--netboot-address HOST:PORT (where the machines reach this controller)\n";
    return kExitCommandLine;
  }
  if (!options.netboot_http.empty() && options.netboot_dir.empty()) {
    std::cerr << "lifeboat-controller: --netboot-http serves the tree of --netboot-dir, which is "
                 "not given\n";
    return kExitCommandLine;
  }
  if (auto v = setting(heartbeat, "heartbeat_seconds", where)) {
    auto seconds = ParseDuration(*v);
    if (!seconds || seconds->count() == 0 || seconds->count() > 86400) {
      std::cerr << "lifeboat-controller: " << where << ": heartbeat '" << *v
                << "' is not a duration from 1s to 1d\n";
      return kExitCommandLine;
    }
    options.heartbeat_seconds = static_cast<uint32_t>(seconds->count());
  }
  if (auto v = setting(certificate_lifetime, "agent_certificate_lifetime", where)) {
    auto seconds = ParseDuration(*v);
    if (!seconds || *seconds < controller::kMinAgentCertificateLifetime) {
      std::cerr << "lifeboat-controller: " << where << ": agent-certificate-lifetime '" << *v
                << "' is not a duration of at least 2d\n";
      return kExitCommandLine;
    }
    options.agent_certificate_lifetime = *seconds;
  }
  if (auto v = setting(offline_after, "offline_after_seconds", where)) {
    auto seconds = ParseDuration(*v);
    if (!seconds || seconds->count() == 0) {
      std::cerr << "lifeboat-controller: " << where << ": offline-after '" << *v
                << "' is not a duration above 0 (600, 10m, 1h)\n";
      return kExitCommandLine;
    }
    options.offline_after = *seconds;
  }

  // Block the stop signals before gRPC starts its threads, which inherit the mask: they arrive at
  // sigwait below instead of killing the process from some gRPC thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: every
  // lock gRPC takes is then recorded in a process-wide lock-order graph, under a lock of its own
  // (GraphCycles in a profile). A debugging aid that a busy server should not pay for per call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  gpr_set_log_function(LogGrpc);
  auto server = lifeboat::controller::Server::Start(options);
  if (!server) {
    std::cerr << "lifeboat-controller: " << server.error().message << "\n";
    return 1;
  }
  g_server = server->get();
  for (const auto& note : (*server)->notes()) std::cout << "lifeboat-controller: " << note << "\n";
  std::cout << "lifeboat-controller: serving gRPC on port " << (*server)->port();
  if ((*server)->http_port()) std::cout << ", HTTP on port " << (*server)->http_port();
  std::cout << ", state in " << options.data_dir;
  if (!options.netboot_dir.empty())
    std::cout << ", network boot tree in " << options.netboot_dir << " (machines reach it at "
              << options.netboot_address << ")";
  if ((*server)->netboot_http_port())
    std::cout << ", served over HTTP on port " << (*server)->netboot_http_port();
  std::cout << std::endl;
  // Shutdown from a plain thread: signal handlers may not call into gRPC.
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    g_server->Shutdown();
  });
  (*server)->Wait();
  stopper.join();
  std::cout << "lifeboat-controller: stopped" << std::endl;
  return 0;
}
