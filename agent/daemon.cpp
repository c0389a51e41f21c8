#include "agent/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

#include "agent/controller_client.h"
#include "agent/disk_commands.h"
#include "agent/journal_store.h"
#include "agent/status_commands.h"
#include "common/process.h"
#include "common/sha256.h"
#include "partition/disk_handle.h"
#include "partition/disk_reader.h"

namespace lifeboat::agent {

namespace fs = std::filesystem;
using namespace partition;

namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

std::optional<int> MinuteOfDay(const std::string& hhmm) {
  int h = 0, m = 0;
  char colon = 0;
  std::istringstream in(hhmm);
  if (!(in >> h >> colon >> m) || colon != ':' || h < 0 || h > 23 || m < 0 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

void Log(const std::string& line) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  std::cerr << stamp << " lifeboat-agent: " << line << std::endl;
}

// Sleeps up to `seconds`; returns false if a stop signal arrived.
bool Sleep(const sigset_t& stop_signals, double seconds) {
  timespec ts{static_cast<time_t>(seconds),
              static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
  siginfo_t info;
  return sigtimedwait(&stop_signals, &info, &ts) < 0;
}

Result<std::string> FindWindowsDisk() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    std::string name = entry.path().filename();
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("dm-") ||
        name.starts_with("sr") || name.starts_with("zram"))
      continue;
    std::string dev = "/dev/" + name;
    auto disk = DiskHandle::Open(dev, DiskHandle::Mode::kReadOnly);
    if (!disk) continue;
    auto model = ReadDisk(*disk);
    if (model && model->WithRole(Role::kWindows)) return dev;
  }
  return Fail(ErrorCode::kNotFound,
              "no disk holds a Windows partition; set disk = ... in the config");
}

Inventory BuildInventory(const std::string& disk, const std::string& state_dir) {
  Inventory inv;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  inv.hostname = host;
  inv.agent_version = "0.3.0";
  if (auto handle = DiskHandle::Open(disk, DiskHandle::Mode::kReadOnly)) {
    if (auto model = ReadDisk(*handle)) {
      DiskSummary d{disk, model->disk_id, LabelName(model->label), model->Size().value, {}};
      for (const auto& p : model->partitions) {
        d.partitions.push_back({p.number, ToBytes(p.start, model->sector_size).value,
                                ToBytes(p.size, model->sector_size).value, p.type, RoleName(p.role),
                                FilesystemName(p.filesystem)});
        if (p.filesystem == FilesystemKind::kBitLocker) inv.bitlocker_found = true;
      }
      inv.winre_present = model->WithRole(Role::kWinRe) != nullptr;
      inv.disks.push_back(std::move(d));
    }
  }
  if (auto status = InspectStatus({disk, false, false, state_dir})) {
    inv.firmware = status->firmware;
    inv.installed_version = status->version;
  }
  return inv;
}

std::string SelfPath() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("lifeboat-agent") : p.string();
}

class Daemon {
 public:
  Daemon(const DaemonConfig& config, JournalStore& journal, std::string machine_id,
         std::string disk, const sigset_t& stop)
      : config_(config),
        journal_(journal),
        machine_id_(std::move(machine_id)),
        disk_(std::move(disk)),
        stop_(stop),
        client_(config.controller) {}

  int Run() {
    bool registered = false;
    double interval = 30, backoff = 1;
    std::mt19937 random(std::random_device{}());
    for (;;) {
      Inventory inventory = BuildInventory(disk_, config_.state_dir);
      if (!registered) {
        auto r = client_.Register(machine_id_, config_.labels, inventory);
        if (!r) {
          Log("cannot register with " + config_.controller + " (" + r.error().message +
              "); retrying in " + std::to_string(static_cast<int>(backoff)) + " s");
          if (!Sleep(stop_, backoff)) return 0;
          backoff = std::min(backoff * 2, 60.0);
          continue;
        }
        registered = true;
        backoff = 1;
        interval = *r ? *r : 30;
        Log("registered as " + machine_id_ + " with " + config_.controller + ", disk " + disk_);
      }
      SendOutbox();
      auto set = journal_.GetValue("boot_recovery_set");
      const bool boot_recovery_set = set && *set && **set == "1";
      auto beat = client_.Heartbeat(machine_id_, inventory, "idle", "", boot_recovery_set);
      if (!beat) {
        if (beat.error().code == ErrorCode::kNotFound) registered = false;
        Log(beat.error().message);
      } else {
        if (boot_recovery_set) (void)journal_.SetValue("boot_recovery_set", "0");  // acknowledged
        if (beat->boot_recovery_once && !boot_recovery_set) BootRecoveryOnce();
        if (beat->assignment && InWindow()) {
          auto done = journal_.GetValue("finished:" + std::to_string(beat->assignment->attempt_id));
          if (done && !*done) RunJob(*beat->assignment);
        }
      }
      // Jitter spreads a fleet's heartbeats: +-10 %.
      double jitter = std::uniform_real_distribution<double>(0.9, 1.1)(random);
      if (!Sleep(stop_, interval * jitter)) return 0;
    }
  }

 private:
  bool InWindow() const {
    if (!config_.window) return true;
    std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    int now = local.tm_hour * 60 + local.tm_min;
    auto [from, to] = *config_.window;
    return from <= to ? (now >= from && now < to) : (now >= from || now < to);
  }

  void Queue(uint64_t attempt, const std::string& step, const std::string& status,
             uint64_t done = 0, uint64_t total = 0, const std::string& message = "") {
    auto queued = journal_.QueueEvent(attempt, {0, step, status, done, total, message, ""});
    if (!queued) Log("journal: " + queued.error().message);
  }

  void SendOutbox() {
    auto unsent = journal_.UnsentEvents();
    if (!unsent) return;
    for (const auto& [attempt, events] : *unsent) {
      auto ack = client_.Report(machine_id_, attempt, events);
      if (!ack) {
        if (ack.error().code == ErrorCode::kNotFound)
          (void)journal_.MarkSent(attempt, events.back().sequence);
        return;  // the controller is away: try again later
      }
      (void)journal_.MarkSent(attempt, *ack);
    }
  }

  // Help desk asked: the next boot (only) starts Lifeboat. Done through `bcd boot-once`; the
  // next heartbeat tells the controller, which then stops asking.
  void BootRecoveryOnce() {
    auto run = RunProcess({SelfPath(), "bcd", "boot-once", disk_, "--state-dir", config_.state_dir,
                           "--lock-wait", std::to_string(config_.lock_wait_seconds)});
    if (run && run->exit_code == 0) {
      (void)journal_.SetValue("boot_recovery_set", "1");
      Log("the next boot starts Lifeboat once, as the controller asked");
    } else {
      Log("boot-recovery request failed: " + (run ? run->err : run.error().message));
    }
  }

  // Downloads into state_dir/downloads/<sha>.wim; resumes a partial file.
  Result<std::string> Download(const Assignment& a) {
    const fs::path dir = fs::path(config_.state_dir) / "downloads";
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string path = (dir / (a.sha256 + ".wim")).string();
    if (fs::exists(path)) {
      auto sha = Sha256File(path);
      if (sha && *sha == a.sha256) return path;
      fs::remove(path, ec);
    }
    const std::string partial = path + ".partial";
    Queue(a.attempt_id, "download", "started", 0, a.size);
    uint64_t last_reported = 0;
    std::optional<Sha256> whole;
    bool complete = false;
    for (int tries = 0; tries < 8 && !complete; ++tries) {
      int fd = open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Fail(ErrorCode::kIo, "download: " + partial + ": " + std::strerror(errno));
      // Only checked chunks are ever written, so what the file holds is a verified prefix: hash
      // it once, then the stream continues the same hash.
      whole.emplace();
      uint64_t offset = 0;
      std::vector<uint8_t> buffer(4 << 20);
      for (ssize_t n; (n = pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset))) > 0;
           offset += static_cast<uint64_t>(n))
        whole->Update({buffer.data(), static_cast<size_t>(n)});
      if (offset > 0)
        Log("resuming the download of " + a.version + " at byte " + std::to_string(offset));
      auto got = client_.Download(a.sha256, offset, fd, *whole, [&](uint64_t at) {
        if (a.size && (at - last_reported) * 10 >= a.size) {
          last_reported = at;
          Queue(a.attempt_id, "download", "progress", at, a.size);
        }
      });
      fsync(fd);
      close(fd);
      if (got) {
        complete = true;
        break;
      }
      Log(got.error().message +
          (got.error().code == ErrorCode::kVerification ? "; fetching it again" : ""));
      if (got.error().code != ErrorCode::kVerification &&
          !Sleep(stop_, std::min(60.0, double(1 << tries))))
        return Fail(ErrorCode::kIo, "stopped");
    }
    const std::string sha = whole ? whole->HexDigest() : std::string();
    if (!complete || sha != a.sha256) {
      fs::remove(partial, ec);
      return Fail(ErrorCode::kVerification,
                  complete ? "download: the image hashes to " + sha + ", not " + a.sha256
                           : "download: gave up after repeated failures");
    }
    fs::rename(partial, path, ec);
    if (ec) return Fail(ErrorCode::kIo, "download: " + ec.message());
    Queue(a.attempt_id, "download", "succeeded", a.size, a.size);
    return path;
  }

  void RunJob(const Assignment& a) {
    Log("assignment: install " + a.version + " (attempt " + std::to_string(a.attempt_id) + ")");
    auto image = Download(a);
    if (!image) {
      Queue(a.attempt_id, "download", "failed", 0, a.size, image.error().message);
      SendOutbox();
      return;
    }
    SendOutbox();
    Queue(a.attempt_id, "apply", "started");
    auto run = RunProcess({SelfPath(), "apply", disk_, "--image", *image, "--version", a.version,
                           "--state-dir", config_.state_dir, "--link", config_.link, "--lock-wait",
                           std::to_string(config_.lock_wait_seconds), "--json"});
    // apply prints each step it finished as "name: outcome" on stderr with --json.
    std::istringstream lines(run ? run->err : "");
    std::string line;
    while (std::getline(lines, line)) {
      auto colon = line.find(": ");
      if (colon == std::string::npos || line.starts_with(" ") || line.starts_with("lifeboat-agent"))
        continue;
      std::string step = line.substr(0, colon);
      if (step.find(' ') != std::string::npos) continue;
      Queue(a.attempt_id, step, "succeeded", 0, 0, line.substr(colon + 2));
    }
    if (run && run->exit_code == 0) {
      Queue(a.attempt_id, "done", "succeeded");
      Log("installed " + a.version);
    } else {
      std::string message = run ? run->out + run->err : run.error().message;
      auto at = message.find("\"message\"");
      if (at != std::string::npos) message = message.substr(at);
      if (message.size() > 2000) message.resize(2000);
      Queue(a.attempt_id, "apply", "failed", 0, 0, message);
      Log("apply of " + a.version + " failed: " + message);
    }
    (void)journal_.SetValue("finished:" + std::to_string(a.attempt_id),
                            run && run->exit_code == 0 ? "ok" : "failed");
    SendOutbox();
  }

  const DaemonConfig& config_;
  JournalStore& journal_;
  std::string machine_id_;
  std::string disk_;
  const sigset_t& stop_;
  ControllerClient client_;
};

}  // namespace

Result<DaemonConfig> ReadDaemonConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read the config file " + path);
  DaemonConfig c;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return Fail(ErrorCode::kInvalidArgument, where + ": expected key = value");
    std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "controller")
      c.controller = value;
    else if (key == "machine_id")
      c.machine_id = value;
    else if (key == "disk")
      c.disk = value;
    else if (key == "state_dir")
      c.state_dir = value;
    else if (key == "link")
      c.link = value;
    else if (key == "labels") {
      std::istringstream items(value);
      std::string item;
      while (std::getline(items, item, ',')) {
        item = Trim(item);
        auto at = item.find('=');
        if (at == std::string::npos || at == 0)
          return Fail(ErrorCode::kInvalidArgument,
                      where + ": label '" + item + "' is not key=value");
        c.labels[Trim(item.substr(0, at))] = Trim(item.substr(at + 1));
      }
    } else if (key == "maintenance_window") {
      auto dash = value.find('-');
      auto from = dash == std::string::npos ? std::nullopt : MinuteOfDay(value.substr(0, dash));
      auto to = dash == std::string::npos ? std::nullopt : MinuteOfDay(value.substr(dash + 1));
      if (!from || !to)
        return Fail(ErrorCode::kInvalidArgument, where + ": maintenance_window is HH:MM-HH:MM");
      c.window = std::make_pair(*from, *to);
    } else if (key == "lock_wait") {
      if (value.empty() || value.size() > 6 ||
          value.find_first_not_of("0123456789") != std::string::npos)
        return Fail(ErrorCode::kInvalidArgument, where + ": lock_wait is a number of seconds");
      c.lock_wait_seconds = std::stoi(value);
    } else {
      return Fail(ErrorCode::kInvalidArgument, where + ": unknown key '" + key + "'");
    }
  }
  return c;
}

int RunDaemon(const DaemonConfig& config) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts threads: they inherit it

  auto journal = JournalStore::Open(config.state_dir + "/journal.db");
  if (!journal) {
    Log(journal.error().message);
    return kExitError;
  }
  std::string machine_id = config.machine_id;
  if (machine_id.empty()) {
    if (auto saved = (*journal)->GetValue("machine_id"); saved && *saved) machine_id = **saved;
  }
  if (machine_id.empty()) {
    std::ifstream id("/etc/machine-id");
    std::getline(id, machine_id);
    machine_id = Trim(machine_id);
  }
  if (machine_id.empty()) {
    std::random_device rd;
    char buf[33];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    machine_id = buf;
  }
  (void)(*journal)->SetValue("machine_id", machine_id);
  std::string disk = config.disk;
  if (disk.empty()) {
    auto found = FindWindowsDisk();
    if (!found) {
      Log(found.error().message);
      return kExitNotFound;
    }
    disk = *found;
  }
  Daemon daemon(config, **journal, machine_id, disk, stop);
  int code = daemon.Run();
  Log("stopped");
  return code;
}

}  // namespace lifeboat::agent
