#include "agent/daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "agent/daemon/agent_log.h"
#include "agent/daemon/stop_signals.h"
#include "agent/exit_codes.h"

extern char** environ;

namespace lifeboat::agent {

double ContactSchedule::After(const std::optional<ContactReport>& report) {
  if (report && report->reached) {
    registered_ = true;
    backoff_ = kFirstBackoff;
    if (report->next_contact_seconds > 0) period_ = report->next_contact_seconds;
    // Jitter spreads a fleet's heartbeats: +-10 %.
    return period_ * std::uniform_real_distribution<double>(0.9, 1.1)(random_);
  }
  const double wait = backoff_;
  backoff_ = std::min(backoff_ * 2, kLongestBackoff);
  return wait;
}

namespace {

struct ContactRun {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  bool stopped = false;  // a stop signal arrived while it ran
};

// Starts the contact with its standard output on a pipe (its standard error is ours: the log),
// waits for it while passing on stop signals, and collects what it printed.
ContactRun RunContactProgram(const std::vector<std::string>& argv, const sigset_t& stop_signals) {
  ContactRun run;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    LogLine(std::string("cannot start a contact: pipe: ") + std::strerror(errno));
    return run;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &none);  // the contact blocks what it waits for itself
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  if (spawned != 0) {
    close(out[0]);
    LogLine("cannot start " + argv[0] + ": " + std::strerror(spawned));
    return run;
  }
  sigset_t wake = stop_signals;
  sigaddset(&wake, SIGCHLD);
  int status = 0;
  for (;;) {
    siginfo_t info;
    const int signal = sigwaitinfo(&wake, &info);
    if (signal == SIGINT || signal == SIGTERM) {
      // The contact finishes the step it is on (an apply is never cut short), then exits.
      run.stopped = true;
      kill(pid, SIGTERM);
      continue;
    }
    if (signal == SIGCHLD && waitpid(pid, &status, WNOHANG) == pid) break;
  }
  // Its report is one short line, far below what a pipe holds, so reading after it exited is safe.
  char buffer[512];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;)
    run.out.append(buffer, static_cast<size_t>(n));
  close(out[0]);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

std::string Seconds(double s) { return std::to_string(static_cast<int>(std::lround(s))) + " s"; }

}  // namespace

int RunDaemon(const std::string& contact, const std::vector<std::string>& contact_args) {
  const sigset_t stop = StopSignals();
  sigset_t blocked = stop;
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);

  ContactSchedule schedule{std::random_device{}()};
  for (;;) {
    std::vector<std::string> argv = {contact};
    argv.insert(argv.end(), contact_args.begin(), contact_args.end());
    if (!schedule.registered()) argv.push_back("--register");
    const ContactRun run = RunContactProgram(argv, stop);
    if (run.stopped) break;
    // What retrying cannot fix stops the daemon, with the contact's exit code (it logged why).
    if (run.exit_code == kExitUsage || run.exit_code == kExitRefused ||
        run.exit_code == kExitNotFound)
      return run.exit_code;
    const auto report = run.exit_code == 0 ? ParseContactReport(run.out) : std::nullopt;
    const double wait = schedule.After(report);
    if (!report) {
      LogLine("the contact with the controller failed (exit code " + std::to_string(run.exit_code) +
              "); retrying in " + Seconds(wait));
    } else if (!report->reached) {
      LogLine("the controller could not be reached; retrying in " + Seconds(wait));
    }
    if (!SleepUnlessStopped(stop, wait)) break;
  }
  LogLine("stopped");
  return kExitOk;
}

}  // namespace lifeboat::agent
