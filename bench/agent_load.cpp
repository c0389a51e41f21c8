// Plays N agents against a running controller over real gRPC: each enrolls, registers, then
// heartbeats at a set period (spread evenly), takes the assignment it is given and reports it
// done. Like a real agent's contacts, each call (a heartbeat with its report) opens its own
// mutual-TLS connection with the agent's own certificate and closes it after (bench/h2_contact.h
// says why these calls do not go through gRPC's C++ client). Prints heartbeats per second and
// latency percentiles (connection included), with gRPC health checks on a new connection each
// timed alongside as the baseline; optionally waits for a rollout to reach every machine. For
// bench/controller_load.sh.
//   lifeboat-bench-agents --controller ADDR --agents N [--period S] [--seconds S] [--threads T]
//                         [--rollout-image V --rollout-at S --rollout-timeout S]
//                         [--report-every S] [--controller-pid PID]
// With --rollout-image, a rollout to V over every machine in four waves (1 %, 10 %, 50 %, 100 %)
// is created S seconds into the steady state, and the run lasts until it completes (or until
// --rollout-timeout seconds, default 3600, have passed). Every --report-every seconds (30) a line
// gives that window's heartbeats, their p50/p99/max, the rollout's progress and the controller's
// CPU and RSS (with --controller-pid); the end gives the whole run's and the worst window's p99,
// and the CPU per heartbeat of the controller and of this program.
#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/h2_contact.h"
#include "common/pki.h"
#include "lifeboat/v1/admin_service.grpc.pb.h"
#include "lifeboat/v1/agent_service.grpc.pb.h"

namespace {

using namespace lifeboat;
using Clock = std::chrono::steady_clock;

struct Latencies {
  std::mutex mutex;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard lock(mutex);
    ms.push_back(v);
  }
  double Percentile(double p) {
    std::lock_guard lock(mutex);
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  }
  size_t Count() {
    std::lock_guard lock(mutex);
    return ms.size();
  }
  void Clear() {
    std::lock_guard lock(mutex);
    ms.clear();
  }
};

struct Agent {
  std::string id;
  // Its own key and client certificate (mutual TLS), as each real agent has.
  bench::AgentIdentity identity;
  uint64_t attempt = 0;
  std::string installed;
};

// One unary call on a new connection of its own; the gRPC status (-1: no connection).
template <typename Request, typename Response>
int CallOnce(bench::H2Contact& contact, const std::string& method, const Request& request,
             Response& response) {
  std::string out;
  const int status = contact.Call(method, request.SerializeAsString(), out);
  if (status == 0 && !response.ParseFromString(out)) return -1;
  return status;
}

// CPU seconds (user and system) used so far by process `pid`, from /proc/PID/stat; 0 if unknown.
// CPU seconds (user and system) of a process, or of one thread: "PID/task/TID".
double CpuSeconds(const std::string& proc_entry) {
  std::ifstream in("/proc/" + proc_entry + "/stat");
  std::string text{std::istreambuf_iterator<char>(in), {}};
  const size_t name_end = text.rfind(')');  // the command's name may hold spaces
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(text.substr(name_end + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i)
    if (i >= 14) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}
double CpuSeconds(int pid) { return CpuSeconds(std::to_string(pid)); }

// The controller's thread that runs every store write (controller/group_commit.h), as
// "PID/task/TID"; "" when there is none by that name.
std::string StoreThread(int pid) {
  std::error_code ec;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == "store-commit")
      return std::to_string(pid) + "/task/" + task.path().filename().string();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string controller = "127.0.0.1:7443";
  int agents = 1000, threads = 16;
  double period = 30, seconds = 60;
  std::string rollout_image, ca_file, token_file;
  double rollout_at = 30, rollout_timeout = 3600, report_every = 30;
  int controller_pid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--controller")
      controller = v;
    else if (k == "--agents")
      agents = std::stoi(v);
    else if (k == "--period")
      period = std::stod(v);
    else if (k == "--seconds")
      seconds = std::stod(v);
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--ca")
      ca_file = v;
    else if (k == "--token-file")
      token_file = v;
    else if (k == "--rollout-image")
      rollout_image = v;
    else if (k == "--rollout-at")
      rollout_at = std::stod(v);
    else if (k == "--rollout-timeout")
      rollout_timeout = std::stod(v);
    else if (k == "--report-every")
      report_every = std::stod(v);
    else if (k == "--controller-pid")
      controller_pid = std::stoi(v);
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  std::ifstream ca_in(ca_file);
  if (!ca_in) {
    std::cerr << "--ca FILE: the controller's CA certificate is needed (TLS)\n";
    return 2;
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = std::string{std::istreambuf_iterator<char>(ca_in), {}};
  const int port = std::stoi(controller.substr(controller.rfind(':') + 1));
  // The agents' TLS settings are all alike but for their identity: shared by every contact.
  const bench::ClientContext agents_tls(tls.pem_root_certs);
  std::vector<Agent> fleet(static_cast<size_t>(agents));
  for (int i = 0; i < agents; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "bench-%06d", i);
    fleet[static_cast<size_t>(i)].id = id;
  }
  // The operator's side (tokens, the rollout) carries the admin's token.
  std::ifstream token_in(token_file);
  std::string admin_token;
  std::getline(token_in, admin_token);
  auto admin = v1::AdminService::NewStub(grpc::CreateChannel(
      controller, grpc::CompositeChannelCredentials(grpc::SslCredentials(tls),
                                                    grpc::AccessTokenCredentials(admin_token))));

  // Enrollment, as each agent does once: a token, its own key, a certificate request.
  auto e0 = Clock::now();
  {
    std::atomic<int> enroll_failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = t; i < agents; i += threads) {
          Agent& a = fleet[static_cast<size_t>(i)];
          grpc::ClientContext token_context;
          v1::CreateEnrollmentTokenResponse token;
          auto key = lifeboat::NewPrivateKey();
          auto csr = key ? lifeboat::NewCertificateRequest(*key, a.id) : key;
          v1::EnrollRequest request;
          v1::EnrollResponse response;
          if (!csr || !admin
                           ->CreateEnrollmentToken(&token_context,
                                                   v1::CreateEnrollmentTokenRequest(), &token)
                           .ok()) {
            ++enroll_failures;
            continue;
          }
          request.set_token(token.token());
          request.set_machine_id(a.id);
          request.set_certificate_request(*csr);
          // Without a client certificate yet, on a connection of its own.
          bench::H2Contact anonymous(agents_tls, {}, port);
          if (CallOnce(anonymous, "/lifeboat.v1.AgentService/Enroll", request, response) != 0) {
            ++enroll_failures;
            continue;
          }
          a.identity = bench::ParseIdentity(*key, response.certificate());
        }
      });
    }
    for (auto& w : workers) w.join();
    std::printf("enrolled %d agents in %.1f s (%d failures)\n", agents,
                std::chrono::duration<double>(Clock::now() - e0).count(), enroll_failures.load());
    if (enroll_failures > 0) return 1;
  }

  // Registration, all threads at once.
  auto t0 = Clock::now();
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = t; i < agents; i += threads) {
          const Agent& a = fleet[static_cast<size_t>(i)];
          bench::H2Contact contact(agents_tls, a.identity, port);
          v1::RegisterRequest request;
          request.set_machine_id(a.id);
          request.set_hostname(a.id + ".bench");
          (*request.mutable_labels())["ring"] = i % 100 == 0 ? "canary" : "broad";
          request.mutable_inventory()->set_firmware(v1::FIRMWARE_UEFI);
          v1::RegisterResponse response;
          const int status =
              CallOnce(contact, "/lifeboat.v1.AgentService/Register", request, response);
          if (status != 0 && failures++ == 0) {
            std::fprintf(stderr, "register %s: gRPC status %d\n", request.machine_id().c_str(),
                         status);
          }
        }
      });
    }
    for (auto& w : workers) w.join();
  }
  double register_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("registered %d agents in %.1f s (%.0f/s), %d failed\n", agents, register_seconds,
              agents / register_seconds, failures.load());

  // Steady heartbeats: agent i is due at start + i * period / N, then every period.
  // window, baseline_window: since the last progress line
  Latencies heartbeat, baseline, window, baseline_window;
  std::atomic<uint64_t> beats{0}, assignments{0}, reports{0};
  std::atomic<bool> stop{false};
  auto start = Clock::now();
  // CPU from the first heartbeat on, enrollment and registration left out.
  const double own_cpu_at_start = CpuSeconds(getpid());
  const double controller_cpu_at_start = controller_pid ? CpuSeconds(controller_pid) : 0;
  auto work = [&](int t) {
    const double step = period / agents;
    for (uint64_t round = 0; !stop; ++round) {
      for (int i = t; i < agents && !stop; i += threads) {
        auto due =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                        static_cast<double>(round) * period + i * step));
        std::this_thread::sleep_until(due);
        Agent& a = fleet[static_cast<size_t>(i)];
        auto s0 = Clock::now();
        bench::H2Contact contact(agents_tls, a.identity, port);
        v1::HeartbeatRequest request;
        request.set_machine_id(a.id);
        request.set_state(v1::AGENT_STATE_IDLE);
        request.mutable_inventory()->set_installed_version(a.installed);
        request.mutable_inventory()->set_firmware(v1::FIRMWARE_UEFI);
        v1::HeartbeatResponse response;
        const int status =
            CallOnce(contact, "/lifeboat.v1.AgentService/Heartbeat", request, response);
        const double took = std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
        heartbeat.Add(took);
        window.Add(took);
        ++beats;
        if (status != 0) {
          ++failures;
          continue;
        }
        if (response.has_assignment() && response.assignment().attempt_id() != a.attempt) {
          ++assignments;
          a.attempt = response.assignment().attempt_id();
          v1::ReportProgressRequest report;
          report.set_machine_id(a.id);
          report.set_attempt_id(a.attempt);
          for (int s = 1; s <= 3; ++s) {
            auto* e = report.add_events();
            e->set_sequence(static_cast<uint64_t>(s));
            e->set_step(s == 1 ? "download" : s == 2 ? "write-image" : "done");
            e->set_status(v1::StepEvent::STATUS_SUCCEEDED);
          }
          v1::ReportProgressResponse ack;
          if (CallOnce(contact, "/lifeboat.v1.AgentService/ReportProgress", report, ack) == 0) {
            ++reports;
            a.installed = response.assignment().image().version();
          } else {
            ++failures;
          }
        }
        // The baseline, every tenth heartbeat: a gRPC health check on a new connection too.
        if (i % 10 == 0) {
          auto h0 = Clock::now();
          bench::H2Contact health(agents_tls, a.identity, port);
          std::string out;
          if (health.Call("/grpc.health.v1.Health/Check", "", out) != 0) ++failures;
          const double health_took =
              std::chrono::duration<double, std::milli>(Clock::now() - h0).count();
          baseline.Add(health_took);
          baseline_window.Add(health_took);
        }
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(work, t);

  double rollout_seconds = -1;
  uint64_t rollout = 0;
  v1::RolloutProgress progress;
  Clock::time_point rollout_start;
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto next_report = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(report_every));
  uint64_t beats_reported = 0;
  double worst_p99 = 0, worst_at = 0;
  double controller_cpu_in_window = controller_cpu_at_start;
  const std::string store_thread = controller_pid ? StoreThread(controller_pid) : "";
  double store_cpu_in_window = store_thread.empty() ? 0 : CpuSeconds(store_thread);
  bool creation_in_window = false;
  std::string worst_window;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto now = Clock::now();
    if (!rollout_image.empty() && rollout == 0 &&
        now >= start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(rollout_at))) {
      grpc::ClientContext context;
      v1::CreateRolloutRequest request;
      request.mutable_spec()->set_image_version(rollout_image);
      request.mutable_spec()->mutable_selector()->set_all(true);
      for (uint32_t p : {1u, 10u, 50u, 100u}) request.mutable_spec()->add_waves()->set_percent(p);
      // The simulated agents check no signature; the image is published unsigned.
      request.mutable_spec()->set_allow_unsigned(true);
      v1::CreateRolloutResponse response;
      auto status = admin->CreateRollout(&context, request, &response);
      if (!status.ok()) {
        std::fprintf(stderr, "create rollout: %s\n", status.error_message().c_str());
        break;
      }
      rollout = response.rollout().id();
      rollout_start = now;
      creation_in_window = true;
      std::printf("%7.1f s  rollout %llu created in %.2f s, %u machines\n",
                  std::chrono::duration<double>(now - start).count(),
                  static_cast<unsigned long long>(rollout),
                  std::chrono::duration<double>(Clock::now() - now).count(),
                  response.rollout().progress().targeted());
      std::fflush(stdout);
      deadline = now + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(rollout_timeout));
    }
    if (rollout) {
      grpc::ClientContext context;
      v1::GetRolloutRequest request;
      request.set_id(rollout);
      v1::GetRolloutResponse response;
      if (admin->GetRollout(&context, request, &response).ok()) {
        progress = response.rollout().progress();
        if (response.rollout().state() == v1::ROLLOUT_STATE_COMPLETED) {
          rollout_seconds = std::chrono::duration<double>(Clock::now() - rollout_start).count();
          break;
        }
      }
    }
    if (now >= next_report) {
      // This window's latencies, so that a stall shows when it happens, not averaged away.
      const double p99 = window.Percentile(0.99),
                   at = std::chrono::duration<double>(now - start).count();
      const uint64_t in_window = beats.load() - beats_reported;
      beats_reported = beats.load();
      std::string controller_use = "";  // its CPU and RSS in this window
      if (controller_pid) {
        const double cpu = CpuSeconds(controller_pid);
        char share[64];
        std::snprintf(share, sizeof share, ", controller CPU %.0f %%",
                      100 * (cpu - controller_cpu_in_window) / report_every);
        controller_cpu_in_window = cpu;
        controller_use += share;
        if (!store_thread.empty()) {
          // Its store's share: every write (heartbeats, assignments, reports) runs on one thread.
          const double store_cpu = CpuSeconds(store_thread);
          std::snprintf(share, sizeof share, " (store %.0f %%)",
                        100 * (store_cpu - store_cpu_in_window) / report_every);
          store_cpu_in_window = store_cpu;
          controller_use += share;
        }
        std::ifstream status("/proc/" + std::to_string(controller_pid) + "/status");
        for (std::string line; std::getline(status, line);)
          if (line.rfind("VmRSS:", 0) == 0)
            controller_use +=
                ", controller RSS " + std::to_string(std::stol(line.substr(6)) / 1024) + " MiB";
      }
      char line[512];
      std::snprintf(line, sizeof line,
                    "%7.1f s  %6.1f heartbeats/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                    "(health check p99 %.2f ms); rollout: wave %u, %u succeeded, %u in progress, "
                    "%u pending%s%s",
                    at, static_cast<double>(in_window) / report_every, window.Percentile(0.5), p99,
                    window.Percentile(1.0), baseline_window.Percentile(0.99),
                    progress.current_wave() + 1, progress.succeeded(), progress.in_progress(),
                    progress.pending(), controller_use.c_str(),
                    creation_in_window ? " (rollout created in this window)" : "");
      std::printf("%s\n", line);
      std::fflush(stdout);
      if (p99 > worst_p99) {
        worst_p99 = p99;
        worst_at = at;
        worst_window = line;
      }
      creation_in_window = false;
      window.Clear();
      baseline_window.Clear();
      next_report = now + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(report_every));
    }
    if (Clock::now() >= deadline) break;
  }
  stop = true;
  for (auto& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("heartbeats %llu in %.1f s: %.1f/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              static_cast<unsigned long long>(beats.load()), elapsed, beats / elapsed,
              heartbeat.Percentile(0.5), heartbeat.Percentile(0.99), heartbeat.Percentile(1.0));
  std::printf("baseline health checks %zu: p50 %.2f ms, p99 %.2f ms\n", baseline.Count(),
              baseline.Percentile(0.5), baseline.Percentile(0.99));
  if (baseline.Percentile(0.99) > 0) {
    std::printf("heartbeat p99 / health-check p99: %.2f\n",
                heartbeat.Percentile(0.99) / baseline.Percentile(0.99));
  }
  if (controller_pid && beats > 0)
    std::printf(
        "CPU per heartbeat (its assignment and report included): controller %.2f ms, load "
        "generator %.2f ms\n",
        1000 * (CpuSeconds(controller_pid) - controller_cpu_at_start) /
            static_cast<double>(beats.load()),
        1000 * (CpuSeconds(getpid()) - own_cpu_at_start) / static_cast<double>(beats.load()));
  std::printf("assignments %llu, reports %llu, failures %d\n",
              static_cast<unsigned long long>(assignments.load()),
              static_cast<unsigned long long>(reports.load()), failures.load());
  if (worst_p99 > 0)
    std::printf("worst %.0f s window: p99 %.2f ms, ending %.1f s into the run:\n  %s\n",
                report_every, worst_p99, worst_at, worst_window.c_str());
  bool reached = true;
  if (rollout) {
    reached = rollout_seconds >= 0 && progress.succeeded() == static_cast<uint32_t>(agents);
    if (rollout_seconds >= 0)
      std::printf("rollout %llu completed in %.1f s: %u of %d machines succeeded\n",
                  static_cast<unsigned long long>(rollout), rollout_seconds, progress.succeeded(),
                  agents);
    else
      std::printf("rollout %llu did not complete within %.0f s (%u of %d succeeded)\n",
                  static_cast<unsigned long long>(rollout), rollout_timeout, progress.succeeded(),
                  agents);
  }
  return failures.load() == 0 && reached ? 0 : 1;
}
