#include "agent/contact/contact.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "agent/contact/controller_client.h"
#include "agent/contact/daemon_state.h"
#include "agent/contact/enrollment.h"
#include "agent/contact/hardware_identity.h"
#include "agent/contact/journal_keeper.h"
#include "agent/daemon/agent_log.h"
#include "agent/daemon/stop_signals.h"
#include "agent/exit_codes.h"
#include "common/image_manifest.h"
#include "common/image_trust.h"
#include "common/process.h"
#include "common/sha256.h"

namespace lifeboat::agent {

namespace fs = std::filesystem;

namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

// The machine id: from the config, else the one kept from before, else /etc/machine-id, else one
// made up now; kept in the state file either way.
std::string MachineId(const DaemonConfig& config, DaemonState& state) {
  std::string id = config.machine_id;
  if (id.empty()) {
    if (auto saved = state.GetValue("machine_id"); saved && *saved) id = **saved;
  }
  if (id.empty()) {
    std::ifstream file("/etc/machine-id");
    std::getline(file, id);
    id = Trim(id);
  }
  if (id.empty()) {
    std::random_device rd;
    char buf[33];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    id = buf;
  }
  (void)state.SetValue("machine_id", id);
  return id;
}

class Contact {
 public:
  Contact(const DaemonConfig& config, const ClientTls& tls, TrustedKeys trusted, std::string agent,
          DaemonState& state, std::string machine_id, const sigset_t& stop)
      : config_(config),
        trusted_(std::move(trusted)),
        agent_(std::move(agent)),
        state_(state),
        machine_id_(std::move(machine_id)),
        disk_(config.disk),
        stop_(stop),
        client_(config.controller, tls) {}

  // The inventory the state file keeps, or a fresh one when that is missing or too old, or when
  // `read_again` (the daemon's first contact: the config or the disks may have changed while it
  // was down). Reading it also finds the Windows disk when none is configured. Errors: kNotFound
  // (no Windows disk), others from lifeboat-agent inventory; except that a later contact goes on
  // with the inventory kept, saying why it could not read a fresh one.
  Result<void> LoadInventory(bool read_again) {
    auto kept = state_.GetValue("inventory");
    auto read_at = state_.GetValue("inventory_read_at");
    std::optional<Inventory> inventory;
    if (kept && *kept) {
      if (auto parsed = InventoryFromJson(**kept)) inventory = std::move(*parsed);
    }
    const long age = read_at && *read_at ? std::time(nullptr) - std::atol((*read_at)->c_str())
                                         : kInventoryLifetimeSeconds;
    if (read_again || !inventory || age < 0 || age >= kInventoryLifetimeSeconds) {
      auto fresh = ReadInventory();
      if (fresh) {
        inventory = std::move(*fresh);
      } else if (inventory && !read_again) {
        LogLine(fresh.error().message + " (using the inventory read before)");
      } else {
        return std::unexpected(fresh.error());
      }
    }
    inventory_ = std::move(*inventory);
    if (disk_.empty() && !inventory_.disks.empty()) disk_ = inventory_.disks.front().path;
    return {};
  }

  ContactReport Run(bool register_first) {
    if (register_first && !Register()) return {};
    if (register_first && config_.journal_with_controller && !RestoreJournal()) return {};
    SendOutbox();
    auto set = state_.GetValue("boot_recovery_set");
    const bool boot_recovery_set = set && *set && **set == "1";
    auto beat = client_.Heartbeat(machine_id_, inventory_, "idle", "", boot_recovery_set);
    if (!beat && beat.error().code == ErrorCode::kNotFound) {
      // The controller does not know this machine (its records were reset): register again.
      if (!Register()) return {};
      beat = client_.Heartbeat(machine_id_, inventory_, "idle", "", boot_recovery_set);
    }
    if (!beat) {
      LogLine(beat.error().message);
      return {};
    }
    if (boot_recovery_set) (void)state_.SetValue("boot_recovery_set", "0");  // acknowledged
    if (beat->boot_recovery_once && !boot_recovery_set) BootRecoveryOnce();
    if (beat->assignment) Consider(*beat->assignment);
    return {true, beat->next_heartbeat_seconds, beat->work_pending};
  }

 private:
  // The inventory is read by `lifeboat-agent inventory` (a child process, so the disk libraries
  // never load here): after every change a contact makes, and at least this often, for changes
  // made by others.
  static constexpr long kInventoryLifetimeSeconds = 600;

  Result<Inventory> ReadInventory() {
    std::vector<std::string> argv = {agent_, "inventory"};
    if (!disk_.empty()) argv.push_back(disk_);
    argv.insert(argv.end(), {"--state-dir", config_.state_dir});
    auto run = RunProcess(argv);
    LIFEBOAT_TRY(run);
    if (run->exit_code != 0)
      return Fail(run->exit_code == kExitNotFound ? ErrorCode::kNotFound : ErrorCode::kTool,
                  run->Summary("lifeboat-agent inventory"));
    auto inventory = InventoryFromJson(run->out);
    LIFEBOAT_TRY(inventory);
    (void)state_.SetValue("inventory", run->out);
    (void)state_.SetValue("inventory_read_at", std::to_string(std::time(nullptr)));
    return inventory;
  }

  void ForgetInventory() { (void)state_.SetValue("inventory_read_at", "0"); }

  bool Register() {
    Inventory shown = inventory_;
    if (config_.register_windows_name && !shown.windows_computer_name.empty())
      shown.hostname = shown.windows_computer_name;
    auto r =
        client_.Register(machine_id_, config_.labels, shown, ReadHardwareIdentity(config_.sysfs));
    if (!r) {
      LogLine("cannot register with " + config_.controller + " (" + r.error().message + ")");
      return false;
    }
    LogLine("registered as " + machine_id_ + " with " + config_.controller + ", disk " + disk_);
    return true;
  }

  // The journal the controller keeps for this machine, into a state folder that has none (a RAM
  // disk after a power cut). No disk work is done before this succeeds: a move resumed without
  // its journal could copy bytes it has overwritten already.
  bool RestoreJournal() {
    auto restored = agent::RestoreJournal(client_, machine_id_, JournalPath());
    if (!restored) {
      LogLine("cannot restore the journal from the controller: " + restored.error().message);
      return false;
    }
    if (*restored) LogLine("journal restored from the controller");
    return true;
  }

  std::string JournalPath() const { return config_.state_dir + "/journal.db"; }

  // An assignment not finished yet is carried out now, or waits for the maintenance window.
  void Consider(const Assignment& a) {
    const std::string attempt = std::to_string(a.attempt_id);
    if (auto r = state_.RaiseSequenceFloor(a.attempt_id, a.reported_sequence); !r)
      LogLine("daemon state: " + r.error().message);
    auto done = state_.GetValue("finished:" + attempt);
    if (!done || *done) return;
    if (InWindow()) {
      RunJob(a);
      return;
    }
    auto logged = state_.GetValue("waiting_logged");
    if (logged && *logged && **logged == attempt) return;  // said once is enough
    (void)state_.SetValue("waiting_logged", attempt);
    LogLine("assignment: " + DescribeJob(a.job, a.image.version) + " (attempt " + attempt +
            ") waits for the maintenance window " + config_.window_text);
  }

  bool InWindow() const {
    if (!config_.window) return true;
    std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    int now = local.tm_hour * 60 + local.tm_min;
    auto [from, to] = *config_.window;
    return from <= to ? (now >= from && now < to) : (now >= from || now < to);
  }

  void Queue(uint64_t attempt, const std::string& step, StepStatus status, uint64_t done = 0,
             uint64_t total = 0, const std::string& message = "") {
    auto queued = state_.QueueEvent(attempt, {0, step, status, done, total, message, ""});
    if (!queued) LogLine("daemon state: " + queued.error().message);
  }

  // Returns false when the controller could not be reached (the events stay queued).
  bool SendOutbox() {
    auto unsent = state_.UnsentEvents();
    if (!unsent) return true;
    for (const auto& [attempt, events] : *unsent) {
      auto ack = client_.Report(machine_id_, attempt, events);
      if (!ack) {
        if (ack.error().code == ErrorCode::kNotFound) {
          (void)state_.MarkSent(attempt, events.back().sequence);
          continue;
        }
        return false;  // the controller is away: try again later
      }
      (void)state_.MarkSent(attempt, *ack);
    }
    return true;
  }

  // Help desk asked: the next boot (only) starts Lifeboat. Done through `bcd boot-once`; the
  // next heartbeat tells the controller, which then stops asking.
  void BootRecoveryOnce() {
    auto run = RunProcess({agent_, "bcd", "boot-once", disk_, "--state-dir", config_.state_dir,
                           "--lock-wait", std::to_string(config_.lock_wait_seconds)});
    if (run && run->exit_code == 0) {
      (void)state_.SetValue("boot_recovery_set", "1");
      LogLine("the next boot starts Lifeboat once, as the controller asked");
      ForgetInventory();  // the next contact reads it again
    } else {
      LogLine("boot-recovery request failed: " + (run ? run->err : run.error().message));
    }
  }

  // Downloads into state_dir/downloads/<sha>.wim; resumes a partial file.
  Result<std::string> Download(const Assignment& a) {
    const fs::path dir = fs::path(config_.state_dir) / "downloads";
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string path = (dir / (a.image.sha256 + ".wim")).string();
    if (fs::exists(path)) {
      auto sha = Sha256File(path);
      if (sha && *sha == a.image.sha256) return path;
      fs::remove(path, ec);
    }
    const std::string partial = path + ".partial";
    Queue(a.attempt_id, "download", StepStatus::kStarted, 0, a.image.size);
    uint64_t last_reported = 0;
    std::optional<Sha256> whole;
    bool complete = false;
    for (int tries = 0; tries < 8 && !complete; ++tries) {
      int fd = open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Fail(ErrorCode::kIo, "download: " + partial + ": " + std::strerror(errno));
      // Only checked chunks are ever written, so what the file holds is a verified prefix: hash
      // it once, then the stream continues the same hash (and its first check covers the file).
      whole.emplace();
      uint64_t offset = 0;
      std::vector<uint8_t> buffer(4 << 20);
      for (ssize_t n; (n = pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset))) > 0;
           offset += static_cast<uint64_t>(n))
        whole->Update({buffer.data(), static_cast<size_t>(n)});
      if (offset > 0)
        LogLine("resuming the download of " + a.image.version + " at byte " +
                std::to_string(offset));
      auto got = client_.Download(a.image.sha256, offset, fd, *whole, [&](uint64_t at) {
        if (a.image.size && (at - last_reported) * 10 >= a.image.size) {
          last_reported = at;
          Queue(a.attempt_id, "download", StepStatus::kProgress, at, a.image.size);
        }
      });
      fsync(fd);
      close(fd);
      if (got) {
        complete = true;
        break;
      }
      // A check that fails before anything new was kept means the file itself is not the image's
      // beginning (damaged on this disk): start it over.
      const bool start_over = got.error().code == ErrorCode::kVerification &&
                              fs::file_size(partial, ec) == offset && offset > 0;
      if (start_over) fs::resize_file(partial, 0, ec);
      LogLine(got.error().message + (start_over ? "; starting the download over"
                                     : got.error().code == ErrorCode::kVerification
                                         ? "; fetching it again"
                                         : ""));
      if (got.error().code != ErrorCode::kVerification &&
          !SleepUnlessStopped(stop_, std::min(60.0, double(1 << tries))))
        return Fail(ErrorCode::kIo, "stopped");
    }
    const std::string sha = whole ? whole->HexDigest() : std::string();
    if (!complete || sha != a.image.sha256) {
      fs::remove(partial, ec);
      return Fail(ErrorCode::kVerification,
                  complete ? "download: the image hashes to " + sha + ", not " + a.image.sha256
                           : "download: gave up after repeated failures");
    }
    fs::rename(partial, path, ec);
    if (ec) return Fail(ErrorCode::kIo, "download: " + ec.message());
    Queue(a.attempt_id, "download", StepStatus::kSucceeded, a.image.size, a.image.size);
    return path;
  }

  void RunJob(const Assignment& a) {
    const std::string job = DescribeJob(a.job, a.image.version);
    LogLine("assignment: " + job + " (attempt " + std::to_string(a.attempt_id) + ")");
    switch (a.job.kind) {
      case JobKind::kInstall:
        RunInstall(a);
        return;
      case JobKind::kWinReGrow:
        RunAgentCommand(a, "winre-grow",
                        {"winre", "grow", disk_, a.job.winre_size_bytes ? "--size" : "--free",
                         std::to_string(a.job.winre_size_bytes ? a.job.winre_size_bytes
                                                               : a.job.winre_free_bytes)},
                        "WinRE grown");
        return;
      case JobKind::kRemove:
        RunAgentCommand(a, "remove", {"remove", disk_, "--reclaim", a.job.reclaim},
                        "Lifeboat removed");
        return;
    }
  }

  void RunInstall(const Assignment& a) {
    // Nothing is downloaded, let alone installed, unless a trusted key signed this very image.
    auto signer = trusted_.Check(a.image, a.signature, TodayUtc(std::chrono::system_clock::now()));
    if (!signer) {
      Queue(a.attempt_id, "verify-signature", StepStatus::kFailed, 0, 0, signer.error().message);
      LogLine(signer.error().message);
      (void)state_.SetValue("finished:" + std::to_string(a.attempt_id), "failed");
      SendOutbox();
      return;
    }
    Queue(a.attempt_id, "verify-signature", StepStatus::kSucceeded, 0, 0,
          "signed by trusted key " + *signer);
    auto image = Download(a);
    if (!image) {
      Queue(a.attempt_id, "download", StepStatus::kFailed, 0, a.image.size, image.error().message);
      SendOutbox();
      return;
    }
    SendOutbox();
    // The signed hash proves the bytes as apply writes them: the image is read once, not checked
    // in full first (the controller checked it in full when it was published).
    RunAgentCommand(a, "apply",
                    {"apply", disk_, "--image", *image, "--version", a.image.version, "--sha256",
                     a.image.sha256, "--link", config_.link},
                    "installed " + a.image.version);
  }

  // Runs `lifeboat-agent ARGS...` for the attempt (reported as step `step`), its journal kept
  // with the controller when configured, and reports its end: "done" or `step` failed.
  void RunAgentCommand(const Assignment& a, const std::string& step, std::vector<std::string> args,
                       const std::string& done_line) {
    Queue(a.attempt_id, step, StepStatus::kStarted);
    // The command reports its steps as they happen (--events, a few dozen lines); each goes on
    // to the controller at once. If the controller is away they wait in the outbox, and no more
    // sends are tried until the job ends, so the disk work is never held up by an unreachable
    // controller.
    bool controller_there = SendOutbox();
    auto forward = [&](const std::string& line) {
      auto event = ParseEventLine(line);
      if (!event) return;
      Queue(a.attempt_id, event->step, event->status, event->bytes_done, event->bytes_total,
            event->message);
      if (controller_there) controller_there = SendOutbox();
    };
    std::vector<std::string> argv = {agent_};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--state-dir", config_.state_dir, "--lock-wait",
                             std::to_string(config_.lock_wait_seconds), "--json", "--events"});
    std::unique_ptr<JournalKeeper> keeper;
    if (config_.journal_with_controller) {
      auto started =
          JournalKeeper::Start(client_, machine_id_, config_.state_dir + "/journal-keeper.sock",
                               JournalPath() + ".mirror");
      if (!started) {
        Queue(a.attempt_id, step, StepStatus::kFailed, 0, 0, started.error().message);
        LogLine(started.error().message);
        SendOutbox();
        return;
      }
      keeper = std::move(*started);
      argv.insert(argv.end(), {"--journal-mirror", keeper->socket_path()});
    }
    auto run = RunProcess(argv, {}, forward);
    if (keeper) {
      LogLine("journal: " + std::to_string(keeper->copies_kept()) +
              " copies kept with the controller");
      keeper.reset();
    }
    ForgetInventory();  // the next contact reads it again
    if (run && run->exit_code == 0) {
      Queue(a.attempt_id, "done", StepStatus::kSucceeded);
      LogLine(done_line);
    } else {
      std::string message = run ? run->out + run->err : run.error().message;
      auto at = message.find("\"message\"");
      if (at != std::string::npos) message = message.substr(at);
      if (message.size() > 2000) message.resize(2000);
      Queue(a.attempt_id, step, StepStatus::kFailed, 0, 0, message);
      LogLine(DescribeJob(a.job, a.image.version) + " failed: " + message);
    }
    (void)state_.SetValue("finished:" + std::to_string(a.attempt_id),
                          run && run->exit_code == 0 ? "ok" : "failed");
    SendOutbox();
  }

  const DaemonConfig& config_;
  const TrustedKeys trusted_;
  const std::string agent_;  // lifeboat-agent, which does all the disk work
  DaemonState& state_;
  std::string machine_id_;
  std::string disk_;
  const sigset_t& stop_;
  ControllerClient client_;
  Inventory inventory_;
};

}  // namespace

int RunContact(const DaemonConfig& config, const std::string& agent, bool register_first,
               ContactReport& report) {
  const sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts threads: they inherit it

  std::error_code ec;
  fs::create_directories(config.state_dir, ec);
  auto state = DaemonState::Open(config.state_dir + "/daemon.db");
  if (!state) {
    LogLine(state.error().message);
    return kExitError;
  }
  const std::string machine_id = MachineId(config, **state);
  auto trusted = TrustedKeys::Load(config.trusted_keys);
  if (!trusted) {
    LogLine(trusted.error().message);
    return kExitUsage;
  }
  if (trusted->empty() && register_first)
    LogLine("warning: no trusted_keys in the config: every image will be refused");
  ClientTls tls;
  std::ifstream ca(config.ca);
  if (!ca) {
    LogLine("cannot read the controller's CA certificate " + config.ca +
            " (ca = ... in the config; the controller writes it to its DATA_DIR/ca.pem)");
    return kExitUsage;
  }
  tls.ca_pem = std::string{std::istreambuf_iterator<char>(ca), {}};
  DaemonConfig effective = config;  // plus the labels given with the enrollment token
  if (auto enrolled =
          LoadOrEnroll(config, machine_id, **state, tls, effective.labels,
                       [&](double seconds) { return SleepUnlessStopped(stop, seconds); });
      !enrolled) {
    LogLine(enrolled.error().message);
    return kExitRefused;
  }
  RenewIfDue(config, machine_id, tls);
  Contact contact(effective, tls, std::move(*trusted), agent, **state, machine_id, stop);
  if (auto loaded = contact.LoadInventory(register_first); !loaded) {
    LogLine(loaded.error().message);
    return loaded.error().code == ErrorCode::kNotFound ? kExitNotFound : kExitError;
  }
  report = contact.Run(register_first);
  return kExitOk;
}

}  // namespace lifeboat::agent
