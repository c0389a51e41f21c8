// lifeboat-controller: the daemon that keeps the image catalog, the fleet and its rollouts, and
// serves AgentService and AdminService over gRPC (with health checking and reflection).
#include <grpc/support/log.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "controller/server.h"

namespace {

constexpr const char* kUsage =
    R"(lifeboat-controller - image catalog, rollouts and fleet state for Lifeboat agents

Usage:
  lifeboat-controller [--config FILE] [--listen ADDR] [--http ADDR] [--data-dir DIR]
                      [--heartbeat-seconds N] [--offline-after SECONDS] [--tls-names NAME,NAME]

Options (a flag overrides the config file):
  --config FILE          key = value lines: listen, http_listen, data_dir, heartbeat_seconds,
                         offline_after_seconds, tls_names ('#' starts a comment)
  --listen ADDR          gRPC address (default 127.0.0.1:7443; port 0 picks a free one, which is
                         printed)
  --http ADDR            HTTPS address for /healthz, /metrics and /api/v1/... (default
                         127.0.0.1:7080; "off" for none)
  --data-dir DIR         state: fleet.db (SQLite) and images/ (default /var/lib/lifeboat-controller)
  --heartbeat-seconds N  how often agents call in (default 30)
  --offline-after SECONDS
                         a machine silent this long is shown offline, and rollouts skip it once
                         their machine deadline has passed (default 600)
  --tls-names LIST       names and addresses agents and operators reach this controller by,
                         for its server certificate (localhost, 127.0.0.1, ::1 and the host name
                         are always in it)

gRPC is TLS only. On the first start the controller makes its own CA and server certificate in
DIR/tls (or uses ca.key/ca.pem, server.key/server.pem put there before) and copies the CA
certificate to DIR/ca.pem: agents (ca = ...) and lifeboatctl (--ca) verify the controller with it.
  -h, --help             this help

Stops cleanly on SIGINT or SIGTERM. Exit codes: 0 stopped, 1 could not start, 2 usage.
)";

std::map<std::string, std::string> ReadConfig(const std::string& path, std::string& problem) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  if (!in) {
    problem = "cannot read config file " + path;
    return values;
  }
  std::string line;
  int number = 0;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(in, line)) {
    ++number;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      problem = path + ":" + std::to_string(number) + ": expected key = value";
      return values;
    }
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

lifeboat::controller::Server* g_server = nullptr;

// gRPC reports a refused TLS handshake (a plaintext client, a certificate from another CA) only
// at its debug level. The controller logs those lines and gRPC's errors, nothing else of it.
void LogGrpc(gpr_log_func_args* args) {
  const std::string_view message = args->message;
  if (args->severity == GPR_LOG_SEVERITY_ERROR ||
      message.find("Security handshake failed") != std::string_view::npos)
    std::cerr << "lifeboat-controller: refused connection: " << message << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if ((a == "--config" || a == "--listen" || a == "--http" || a == "--data-dir" ||
         a == "--heartbeat-seconds" || a == "--offline-after" || a == "--tls-names") &&
        i + 1 < argc) {
      flags[a.substr(2)] = argv[++i];
    } else {
      std::cerr << "lifeboat-controller: unknown or incomplete option '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  std::map<std::string, std::string> config;
  if (flags.contains("config")) {
    std::string problem;
    config = ReadConfig(flags["config"], problem);
    if (!problem.empty()) {
      std::cerr << "lifeboat-controller: " << problem << "\n";
      return 2;
    }
  }
  auto setting = [&](const std::string& flag,
                     const std::string& key) -> std::optional<std::string> {
    if (flags.contains(flag)) return flags[flag];
    if (config.contains(key)) return config[key];
    return std::nullopt;
  };
  lifeboat::controller::ServerOptions options;
  if (auto v = setting("listen", "listen")) options.listen = *v;
  if (auto v = setting("data-dir", "data_dir")) options.data_dir = *v;
  options.http_listen = setting("http", "http_listen").value_or("127.0.0.1:7080");
  if (options.http_listen == "off") options.http_listen.clear();
  if (auto v = setting("tls-names", "tls_names")) {
    std::istringstream names(*v);
    std::string name;
    while (std::getline(names, name, ',')) {
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t") + 1);
      if (!name.empty()) options.tls_names.push_back(name);
    }
  }
  if (auto v = setting("heartbeat-seconds", "heartbeat_seconds")) {
    if (v->empty() || v->find_first_not_of("0123456789") != std::string::npos || v->size() > 6) {
      std::cerr << "lifeboat-controller: heartbeat seconds '" << *v << "' is not a number\n";
      return 2;
    }
    options.heartbeat_seconds = static_cast<uint32_t>(std::stoul(*v));
  }
  if (auto v = setting("offline-after", "offline_after_seconds")) {
    if (v->empty() || v->find_first_not_of("0123456789") != std::string::npos || v->size() > 8 ||
        std::stoul(*v) == 0) {
      std::cerr << "lifeboat-controller: offline-after '" << *v
                << "' is not a number of seconds above 0\n";
      return 2;
    }
    options.offline_after = std::chrono::seconds(std::stoul(*v));
  }

  // Block the stop signals before gRPC starts its threads, which inherit the mask: they arrive at
  // sigwait below instead of killing the process from some gRPC thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  gpr_set_log_function(LogGrpc);
  auto server = lifeboat::controller::Server::Start(options);
  if (!server) {
    std::cerr << "lifeboat-controller: " << server.error().message << "\n";
    return 1;
  }
  g_server = server->get();
  std::cout << "lifeboat-controller: serving gRPC on port " << (*server)->port();
  if ((*server)->http_port()) std::cout << ", HTTP on port " << (*server)->http_port();
  std::cout << ", state in " << options.data_dir << std::endl;
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
