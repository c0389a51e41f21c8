// The agent daemon with a real controller process: a rollout installs the image on the agent's
// disk and the controller records every step; a chunk damaged in transit is refused and fetched
// again; an agent that starts while the controller is down registers once it is back; between
// heartbeats only the daemon is left, holding no connection; stopping the agent lets an apply in
// progress finish and report first.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>
#include <vector>

#include "common/sha256.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// A process started in the background with its output in a log file, killed when the object goes.
class Background {
 public:
  Background(const std::string& command, const std::string& log) : log_(log) {
    pid_ = std::stoi(Sh(command + " > " + Quote(log) + " 2>&1 & echo $!").out);
  }
  ~Background() { Kill(); }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Sh("while kill -0 " + std::to_string(pid_) + " 2>/dev/null; do sleep 0.05; done");
    }
    pid_ = 0;
  }
  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] bool Running() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  [[nodiscard]] std::string Log() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

 private:
  std::string log_;
  int pid_ = 0;
};

// The processes `pid` has started and not yet waited for.
std::vector<int> ChildrenOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<int> children;
  for (int child; in >> child;) children.push_back(child);
  return children;
}

// Whether `pid` holds a socket (a connection to the controller) among its open files.
bool HoldsASocket(int pid) {
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    if (std::filesystem::read_symlink(fd.path(), ec).string().starts_with("socket:")) return true;
  }
  return false;
}

// Whether a lifeboat-agent-contact started for this config file is running.
bool AContactRunsFor(const std::filesystem::path& config) {
  return Sh("pgrep -f " + Quote("lifeboat-agent-contact --config " + config.string())).exit_code ==
         0;
}

class AgentDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Sh(Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-test-wim") + " " +
                Quote(dir_ / "v1.wim") + " --size-mb 12");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    MakeWindowsDisk(dir_ / "disk.img", "--label gpt --fill-mb 20");
    // The key that signs the images the agents trust.
    ASSERT_EQ(Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(dir_ / "signer")).exit_code,
              0);
  }
  // Publishes v1.wim as `version`, signed with the agents' trusted key; returns lifeboatctl's code.
  // Waits (up to 10 s) until the controller lists the machine: its agent has registered.
  void WaitForMachine(int port, const std::string& id) {
    for (int i = 0; i < 40 && Ctl(port, "machine list --json").out.find(id) == std::string::npos;
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }

  // A controller with `version` published: its port, or 0 when either failed.
  int StartWithImage(const std::string& version) {
    const int port = StartController();
    return port != 0 && Publish(port, version) == 0 ? port : 0;
  }

  int Publish(int port, const std::string& version) {
    auto r = Ctl(port, "image publish " + Quote(dir_ / "v1.wim") + " --version " + version +
                           " --sign-key " + Quote(dir_ / "signer.key"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code;
  }
  // Starts the controller (on `port`, or a free one) and returns its port.
  int StartController(const std::string& env = "", int port = 0) {
    controller_ = std::make_unique<Background>(
        env + " " + Quote(LIFEBOAT_CONTROLLER) + " --listen 127.0.0.1:" + std::to_string(port) +
            " --http off --heartbeat-seconds 1 --data-dir " + Quote(dir_ / "controller") + " " +
            controller_flags_,
        dir_ / ("controller" + std::to_string(++starts_) + ".log"));
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto log = controller_->Log();
      auto at = log.find("gRPC on port ");
      if (at != std::string::npos) return std::stoi(log.substr(at + 13));
    }
    return 0;
  }
  CommandResult Ctl(int port, const std::string& args) {
    return Sh(Quote(LIFEBOAT_CTL) + " --controller 127.0.0.1:" + std::to_string(port) + " --ca " +
              Quote(dir_ / "controller/ca.pem") + " --token-file " +
              Quote(dir_ / "controller/admin.token") + " " + args);
  }
  void StartAgent(int port, const std::string& token = "") {
    agent_ = Spawn(port, "pc-1", dir_ / "disk.img", "agent", "", "", token);
  }
  // A one-time enrollment token from the controller (lifeboatctl token create).
  std::string NewToken(int port) {
    auto made = Ctl(port, "token create --json");
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return made.exit_code == 0 ? Json(made.out)->getValue<std::string>("token") : "";
  }
  std::unique_ptr<Background> Spawn(int port, const std::string& id, const std::string& disk,
                                    const std::string& name, const std::string& more_config = "",
                                    const std::string& env = "", std::string token = "") {
    if (token.empty()) token = NewToken(port);
    std::ofstream config(dir_ / (name + ".conf"));
    config << "controller = 127.0.0.1:" << port << "\nmachine_id = " << id << "\ndisk = " << disk
           << "\nstate_dir = " << (dir_ / name) << "\nlabels = ring=canary\n"
           << "trusted_keys = " << (dir_ / "signer.pub") << "\n"
           << "ca = " << (dir_ / "controller/ca.pem") << "\n"
           << "enrollment_token = " << token << "\n"
           << more_config;
    config.close();
    return std::make_unique<Background>(
        env + " " + Quote(LIFEBOAT_AGENT) + " run --config " + Quote(dir_ / (name + ".conf")),
        dir_ / (name + ".log"));
  }
  // The events of machine `id`'s first attempt, as "step status bytes_done/bytes_total" lines.
  std::string Events(int port, const std::string& id) {
    auto shown = Ctl(port, "machine show " + id + " --json");
    if (shown.exit_code != 0) return {};
    auto attempts = Json(shown.out)->getArray("attempts");
    if (!attempts || attempts->size() == 0) return {};
    std::string lines;
    auto events = attempts->getObject(0)->getArray("events");
    for (size_t i = 0; events && i < events->size(); ++i) {
      auto e = events->getObject(i);
      lines += e->getValue<std::string>("step") + " " + e->getValue<std::string>("status") + " " +
               e->getValue<std::string>("bytes_done") + "/" +
               e->getValue<std::string>("bytes_total") + "\n";
    }
    return lines;
  }
  // Waits (up to 10 s) until the controller knows machine `id`.
  void WaitUntilRegistered(int port, const std::string& id) {
    for (int i = 0; i < 40 && Ctl(port, "machine show " + id).exit_code != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  // Waits (up to 30 s) until machine `id`'s events hold `event`; returns them.
  std::string WaitForEvent(int port, const std::string& id, const std::string& event) {
    std::string events;
    for (int i = 0; i < 120 && events.find(event) == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      events = Events(port, id);
    }
    return events;
  }
  // An agent pc-1 whose apply stops after writing the image until the file `go` exists.
  std::unique_ptr<Background> SpawnHeldAfterTheWrite(int port, const std::string& go) {
    return Spawn(
        port, "pc-1", dir_ / "disk.img", "agent", "",
        "LIFEBOAT_TEST_HOLD_AT=apply:write-image:after LIFEBOAT_TEST_HOLD_FILE=" + Quote(go));
  }
  // A controller, image 1.0 published, and agent pc-1 installing it in a rollout, held after the
  // image is written until the file `go` exists. Returns the controller's port (0: it failed).
  int StartAnInstallHeldAfterTheWrite(const std::string& go) {
    const int port = StartWithImage("1.0");
    if (port == 0) return 0;
    agent_ = SpawnHeldAfterTheWrite(port, go);
    WaitUntilRegistered(port, "pc-1");
    if (Ctl(port, "rollout create --image 1.0 --all").exit_code != 0) return 0;
    const std::string events = WaitForEvent(port, "pc-1", "write-image succeeded");
    return events.find("write-image succeeded") != std::string::npos ? port : 0;
  }
  // Waits until rollout `id` reaches a state other than active (or `seconds` pass).
  std::string WaitUntilSettled(int port, int id, int seconds) {
    std::string state;
    for (int i = 0; i < seconds * 4; ++i) {
      auto shown = Ctl(port, "rollout show " + std::to_string(id) + " --json");
      if (shown.exit_code == 0)
        state = Json(shown.out)->getObject("rollout")->getValue<std::string>("state");
      if (!state.empty() && state != "active") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return state;
  }
  // Waits until rollout 1 is completed (or `seconds` pass); returns its JSON.
  Poco::JSON::Object::Ptr WaitForRollout(int port, int seconds) {
    Poco::JSON::Object::Ptr rollout;
    for (int i = 0; i < seconds * 4; ++i) {
      auto shown = Ctl(port, "rollout show 1 --json");
      if (shown.exit_code == 0) {
        rollout = Json(shown.out)->getObject("rollout");
        if (rollout->getValue<std::string>("state") == "completed") break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return rollout;
  }

  TempDir dir_;
  std::string controller_flags_;  // more lifeboat-controller options
  int starts_ = 0;
  std::unique_ptr<Background> controller_;
  std::unique_ptr<Background> agent_;
};

TEST_F(AgentDaemonTest, RolloutInstallsTheImageAndTheControllerRecordsEveryStep) {
  int port = StartController("LIFEBOAT_TEST_CORRUPT_CHUNK=1");
  ASSERT_GT(port, 0);
  ASSERT_EQ(Publish(port, "1.0"), 0);
  StartAgent(port);
  WaitUntilRegistered(port, "pc-1");
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --label ring=canary").exit_code, 0);
  auto rollout = WaitForRollout(port, 60);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed") << agent_->Log();
  // The damaged chunk was refused and fetched again.
  EXPECT_NE(agent_->Log().find("arrived damaged"), std::string::npos) << agent_->Log();
  // The controller's history has the download and every apply step; the disk has the image.
  auto history = Json(Ctl(port, "machine show pc-1 --json").out);
  auto attempt = history->getArray("attempts")->getObject(0);
  EXPECT_EQ(attempt->getValue<std::string>("state"), "succeeded");
  std::string steps;
  auto events = attempt->getArray("events");
  for (size_t i = 0; i < events->size(); ++i)
    steps += events->getObject(i)->getValue<std::string>("step") + " ";
  for (const char* step :
       {"download", "prepare-partition", "write-image", "verify-image", "edit-bcd", "done"})
    EXPECT_NE(steps.find(step), std::string::npos) << steps;
  EXPECT_EQ(history->getObject("machine")->getValue<std::string>("installed_version"), "1.0");
  // Help desk: boot into recovery once. The agent sets bootsequence and the request clears.
  ASSERT_EQ(Ctl(port, "machine boot-recovery pc-1").exit_code, 0);
  bool cleared = false;
  for (int i = 0; i < 40 && !cleared; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    cleared = !Json(Ctl(port, "machine show pc-1 --json").out)
                   ->getObject("machine")
                   ->getValue<bool>("boot_recovery_pending");
  }
  EXPECT_TRUE(cleared) << agent_->Log();
  agent_->Kill();
  auto store = Agent({"bcd", "show", dir_ / "disk.img", "--json"});
  EXPECT_NE(store.out.find("\"bootsequence\""), std::string::npos) << store.out;
  EXPECT_EQ(Ctl(port, "machine boot-recovery nobody").exit_code, 5);
  auto status =
      Agent({"status", dir_ / "disk.img", "--verify", "--json", "--state-dir", dir_ / "agent"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(Json(status.out)->getObject("installed")->getValue<std::string>("version"), "1.0");
}

TEST_F(AgentDaemonTest, StepsReachTheControllerWhileApplyRuns) {
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  const auto go = dir_ / "go";
  // apply stops after writing the image until the test says go.
  agent_ = SpawnHeldAfterTheWrite(port, go);
  WaitUntilRegistered(port, "pc-1");
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --label ring=canary").exit_code, 0);
  std::string events = WaitForEvent(port, "pc-1", "write-image succeeded");
  // While apply is held: the controller already has the steps so far, with the write's progress
  // in bytes, and nothing after them.
  EXPECT_NE(events.find("prepare-partition succeeded"), std::string::npos) << events;
  EXPECT_NE(events.find("write-image started"), std::string::npos) << events;
  EXPECT_NE(events.find("write-image succeeded"), std::string::npos) << events;
  const std::string size = std::to_string(std::filesystem::file_size(dir_ / "v1.wim"));
  EXPECT_NE(events.find("write-image progress " + size + "/" + size), std::string::npos) << events;
  EXPECT_EQ(events.find("verify-image"), std::string::npos) << events;
  EXPECT_EQ(Json(Ctl(port, "rollout show 1 --json").out)
                ->getObject("rollout")
                ->getValue<std::string>("state"),
            "active");
  std::ofstream(go).put('\n');
  auto rollout = WaitForRollout(port, 60);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed") << agent_->Log();
  events = Events(port, "pc-1");
  EXPECT_NE(events.find("verify-bcd succeeded"), std::string::npos) << events;
  EXPECT_NE(events.find("done succeeded"), std::string::npos) << events;
}

// "HH:MM-HH:MM" of local time, starting `from_hours` from now and lasting `hours`.
std::string WindowFromNow(int from_hours, int hours) {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);
  auto at = [&](int h) {
    char text[8];
    std::snprintf(text, sizeof text, "%02d:%02d", ((now.tm_hour + h) % 24 + 24) % 24, now.tm_min);
    return std::string(text);
  };
  return at(from_hours) + "-" + at(from_hours + hours);
}

TEST_F(AgentDaemonTest, AnAssignmentWaitsForTheMaintenanceWindow) {
  const std::string before = ImageChecksum(dir_ / "disk.img");
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  // A window that opens in two hours: the agent heartbeats but does not act.
  agent_ = Spawn(port, "pc-1", dir_ / "disk.img", "agent",
                 "maintenance_window = " + WindowFromNow(2, 2) + "\n");
  WaitUntilRegistered(port, "pc-1");
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --label ring=canary").exit_code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(4));  // four heartbeats
  EXPECT_NE(agent_->Log().find("waits for the maintenance window"), std::string::npos)
      << agent_->Log();
  EXPECT_EQ(Events(port, "pc-1").find("download"), std::string::npos) << Events(port, "pc-1");
  agent_->Kill();
  EXPECT_EQ(ImageChecksum(dir_ / "disk.img"), before);
  // The same agent with a window that is open now carries the assignment out. A partial
  // download left on its disk is damaged (1.5 MiB of zeros): the first check fails before
  // anything new is kept, and the download starts over.
  auto sha = Sha256File(dir_ / "v1.wim");
  ASSERT_TRUE(sha);
  ASSERT_EQ(Sh("mkdir -p " + Quote(dir_ / "agent/downloads") + " && head -c 1572864 /dev/zero > " +
               Quote(dir_ / ("agent/downloads/" + *sha + ".wim.partial")))
                .exit_code,
            0);
  agent_ = Spawn(port, "pc-1", dir_ / "disk.img", "agent",
                 "maintenance_window = " + WindowFromNow(-1, 2) + "\n");
  auto rollout = WaitForRollout(port, 60);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed") << agent_->Log();
  EXPECT_NE(agent_->Log().find("starting the download over"), std::string::npos) << agent_->Log();
}

TEST_F(AgentDaemonTest, ImagesNotSignedByATrustedKeyAreRefusedBeforeAnyDownload) {
  const std::string before = ImageChecksum(dir_ / "disk.img");
  int port = StartController();
  ASSERT_GT(port, 0);
  agent_ = Spawn(port, "pc-1", dir_ / "disk.img", "agent");
  WaitUntilRegistered(port, "pc-1");
  // Each rollout fails on the one machine; the attempt's error says why.
  int rollout = 0;
  auto refused = [&](const std::string& version) {
    // --allow-unsigned: the controller would refuse the unsigned one itself; here the agent's
    // own refusal is what is tested. --failure-threshold 0: each rollout then ends (completed
    // with failures) instead of halting, which would keep the machine in it.
    EXPECT_EQ(Ctl(port, "rollout create --image " + version +
                            " --label ring=canary --allow-unsigned --failure-threshold 0")
                  .exit_code,
              0);
    WaitUntilSettled(port, ++rollout, 60);
    std::string error;
    for (int i = 0; i < 40 && error.empty(); ++i) {
      auto attempts = Json(Ctl(port, "machine show pc-1 --json").out)->getArray("attempts");
      for (size_t k = 0; attempts && k < attempts->size(); ++k) {
        auto attempt = attempts->getObject(k);
        if (attempt->getValue<std::string>("image_version") == version)
          error = attempt->getValue<std::string>("error");
      }
      if (error.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return error;
  };
  // Unsigned.
  ASSERT_EQ(Ctl(port, "image publish " + Quote(dir_ / "v1.wim") + " --version 2.0").exit_code, 0);
  EXPECT_NE(refused("2.0").find("unsigned"), std::string::npos);
  // Signed by a key the agent does not trust.
  ASSERT_EQ(Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(dir_ / "stranger")).exit_code,
            0);
  ASSERT_EQ(Ctl(port, "image publish " + Quote(dir_ / "v1.wim") + " --version 3.0 --sign-key " +
                          Quote(dir_ / "stranger.key"))
                .exit_code,
            0);
  EXPECT_NE(refused("3.0").find("not among this agent's trusted_keys"), std::string::npos);
  // Signed by the trusted key, then the manifest altered in the controller's database.
  ASSERT_EQ(Publish(port, "4.0"), 0);
  controller_->Kill();
  ASSERT_EQ(Sh("sqlite3 " + Quote(dir_ / "controller/fleet.db") +
               " \"UPDATE images SET signed_manifest = replace(signed_manifest, 'version: 4.0', "
               "'version: 4.0 ') WHERE version = '4.0'\"")
                .exit_code,
            0);
  ASSERT_EQ(StartController("", port), port);
  EXPECT_NE(refused("4.0").find("does not match"), std::string::npos);
  // Nothing was downloaded, and the disk is as it was.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "agent/downloads") &&
               !std::filesystem::is_empty(dir_ / "agent/downloads"));
  agent_->Kill();
  EXPECT_EQ(ImageChecksum(dir_ / "disk.img"), before);
}

TEST_F(AgentDaemonTest, AnAgentStartedWhileTheControllerIsDownRegistersWhenItIsBack) {
  int port = StartController();
  ASSERT_GT(port, 0);
  const std::string token = NewToken(port);
  controller_->Kill();
  StartAgent(port, token);
  // It cannot even enroll yet; it keeps trying.
  for (int i = 0; i < 60 && agent_->Log().find("retrying in") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_NE(agent_->Log().find("enroll:"), std::string::npos) << agent_->Log();
  ASSERT_EQ(StartController("", port), port);
  bool seen = false;
  for (int i = 0; i < 80 && !seen; ++i) {
    seen = Ctl(port, "machine show pc-1").exit_code == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(seen) << agent_->Log();
}

TEST_F(AgentDaemonTest, BetweenHeartbeatsOnlyTheDaemonIsLeftAndItHoldsNoConnection) {
  int port = StartController();  // heartbeats every second
  ASSERT_GT(port, 0);
  StartAgent(port);
  WaitUntilRegistered(port, "pc-1");
  auto last_seen = [&] {
    auto shown = Ctl(port, "machine show pc-1 --json");
    return shown.exit_code == 0
               ? Json(shown.out)->getObject("machine")->getValue<std::string>("last_seen")
               : "";
  };
  const std::string seen_before = last_seen();
  ASSERT_FALSE(seen_before.empty()) << agent_->Log();
  // What `lifeboat-agent run` became is the daemon, and over four heartbeats it never held a
  // socket, and mostly had no child (a contact lasts a few milliseconds).
  const int daemon = agent_->pid();
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(daemon) + "/exe").filename(),
            "lifeboat-agent-daemon");
  int samples = 0, without_child = 0, with_socket = 0;
  for (; samples < 40; ++samples) {
    without_child += ChildrenOf(daemon).empty() ? 1 : 0;
    with_socket += HoldsASocket(daemon) ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(with_socket, 0);
  EXPECT_GT(without_child, samples / 2);
  // Meanwhile the contacts went on heartbeating.
  EXPECT_NE(last_seen(), seen_before) << agent_->Log();
  EXPECT_TRUE(agent_->Running());
  EXPECT_EQ(agent_->Log().find("retrying"), std::string::npos) << agent_->Log();
}

TEST_F(AgentDaemonTest, StoppingTheAgentLetsTheApplyInProgressFinishAndReportFirst) {
  const auto go = dir_ / "go";
  const int port = StartAnInstallHeldAfterTheWrite(go);
  ASSERT_GT(port, 0) << (agent_ ? agent_->Log() : "");
  // Stopped (as systemd stops it) while apply is held: the daemon waits for its contact.
  kill(agent_->pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(agent_->Running()) << agent_->Log();
  EXPECT_TRUE(AContactRunsFor(dir_ / "agent.conf"));
  std::ofstream(go).put('\n');
  for (int i = 0; i < 120 && agent_->Running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(agent_->Running()) << agent_->Log();
  EXPECT_FALSE(AContactRunsFor(dir_ / "agent.conf"));
  EXPECT_NE(agent_->Log().find("installed 1.0"), std::string::npos) << agent_->Log();
  EXPECT_NE(agent_->Log().find("lifeboat-agent: stopped"), std::string::npos) << agent_->Log();
  // The apply ran to its end and every step reached the controller before the contact exited.
  const std::string events = Events(port, "pc-1");
  EXPECT_NE(events.find("verify-bcd succeeded"), std::string::npos) << events;
  EXPECT_NE(events.find("done succeeded"), std::string::npos) << events;
}

TEST_F(AgentDaemonTest, AKilledDaemonTakesItsContactWithIt) {
  const auto go = dir_ / "go";
  ASSERT_GT(StartAnInstallHeldAfterTheWrite(go), 0) << (agent_ ? agent_->Log() : "");
  // Held in the apply, the contact that runs it is there.
  ASSERT_TRUE(AContactRunsFor(dir_ / "agent.conf")) << agent_->Log();
  // A contact without its daemon would report to no one: it goes too. The apply it started is
  // left to finish (its journal and lock are built for that), and is released here.
  agent_->Kill();
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = !AContactRunsFor(dir_ / "agent.conf");
  }
  EXPECT_TRUE(gone);
  std::ofstream(go).put('\n');
  const std::string apply = "pgrep -f " + Quote("lifeboat-agent apply " + dir_ / "disk.img");
  for (int i = 0; i < 120 && Sh(apply).exit_code == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_NE(Sh(apply).exit_code, 0);
}

TEST_F(AgentDaemonTest, AMachineWithoutRoomFailsClearlyAndTheThresholdHaltsTheRollout) {
  // 2 GiB, Windows filling it: no room for a Lifeboat partition even after shrinking.
  MakeWindowsDisk(dir_ / "full.img",
                  "--label gpt --disk-size 2G --windows-size 1900M --winre-size 0 --fill-mb 300");
  const std::string full_before = ImageChecksum(dir_ / "full.img");
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  auto good = Spawn(port, "pc-good", dir_ / "disk.img", "good");
  auto full = Spawn(port, "pc-full", dir_ / "full.img", "full");
  WaitForMachine(port, "pc-full");
  ASSERT_EQ(
      Ctl(port, "rollout create --image 1.0 --all --waves 1,2 --failure-threshold 50").exit_code,
      0);
  EXPECT_EQ(WaitUntilSettled(port, 1, 90), "halted") << full->Log();
  auto rollout = Json(Ctl(port, "rollout show 1 --json").out)->getObject("rollout");
  EXPECT_NE(rollout->getValue<std::string>("message").find("over the threshold"),
            std::string::npos);
  auto history = Json(Ctl(port, "machine show pc-full --json").out);
  auto attempt = history->getArray("attempts")->getObject(0);
  EXPECT_EQ(attempt->getValue<std::string>("state"), "failed");
  EXPECT_NE(attempt->getValue<std::string>("error").find("not enough room"), std::string::npos)
      << attempt->getValue<std::string>("error");
  full->Kill();
  good->Kill();
  EXPECT_EQ(ImageChecksum(dir_ / "full.img"), full_before);  // refused: nothing changed
}

TEST_F(AgentDaemonTest, AbortStopsNewWorkAndLeavesEveryMachineConsistent) {
  MakeWindowsDisk(dir_ / "second.img", "--label mbr --fill-mb 20");
  const std::string second_before = ImageChecksum(dir_ / "second.img");
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  auto first = Spawn(port, "pc-a", dir_ / "disk.img", "a");
  auto second = Spawn(port, "pc-b", dir_ / "second.img", "b");
  WaitForMachine(port, "pc-b");
  // The second wave waits an hour: abort it before it opens.
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --all --waves 1,2 --wait 3600").exit_code, 0);
  std::string done;
  for (int i = 0; i < 240 && done.empty(); ++i) {
    auto rollout = Json(Ctl(port, "rollout show 1 --json").out)->getObject("rollout");
    if (rollout->getObject("progress")->getValue<int>("succeeded") == 1) done = "yes";
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(done, "yes");
  ASSERT_EQ(Ctl(port, "rollout abort 1").exit_code, 0);
  std::this_thread::sleep_for(
      std::chrono::seconds(3));  // several heartbeats: nothing new is handed out
  auto rollout = Json(Ctl(port, "rollout show 1 --json").out)->getObject("rollout");
  EXPECT_EQ(rollout->getValue<std::string>("state"), "aborted");
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("succeeded"), 1);
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("in_progress"), 0);
  first->Kill();
  second->Kill();
  // The machine that got 1.0 has it, intact; the other was not touched; the records agree.
  std::string installed, untouched;
  for (auto [id, disk, state] :
       {std::tuple{"pc-a", "disk.img", "a"}, std::tuple{"pc-b", "second.img", "b"}}) {
    auto m = Json(Ctl(port, std::string("machine show ") + id + " --json").out);
    auto status = Agent({"status", dir_ / disk, "--verify", "--json", "--state-dir", dir_ / state});
    EXPECT_EQ(status.exit_code, 0) << status.out;
    auto s = Json(status.out);
    const std::string recorded =
        m->getObject("machine")->getValue<std::string>("installed_version");
    if (m->getArray("attempts")->size() > 0) {
      installed = id;
      EXPECT_EQ(s->getValue<std::string>("state"), "installed");
      EXPECT_EQ(recorded, "1.0");
    } else {
      untouched = id;
      EXPECT_EQ(s->getValue<std::string>("state"), "absent");
      EXPECT_EQ(recorded, "");
    }
  }
  EXPECT_FALSE(installed.empty());
  EXPECT_FALSE(untouched.empty());
  if (untouched == "pc-b") {
    EXPECT_EQ(ImageChecksum(dir_ / "second.img"), second_before);
  }
}

TEST_F(AgentDaemonTest, KilledControllerAndKilledAgentBothRecover) {
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  // The agent's apply is killed (SIGKILL) in the middle of writing the image.
  agent_ = Spawn(port, "pc-1", dir_ / "disk.img", "agent", "",
                 "LIFEBOAT_TEST_CRASH_AT=apply:write-image:chunk:1");
  WaitUntilRegistered(port, "pc-1");
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --all --max-retries 2").exit_code, 0);
  bool failed_once = false;
  for (int i = 0; i < 120 && !failed_once; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    failed_once = Ctl(port, "machine show pc-1").out.find("): failed") != std::string::npos;
  }
  ASSERT_TRUE(failed_once) << agent_->Log();
  // It failed where it was killed: inside write-image, after the signature and download.
  const std::string history = Ctl(port, "machine show pc-1").out;
  EXPECT_NE(history.find("verify-signature succeeded"), std::string::npos) << history;
  EXPECT_NE(history.find("write-image started"), std::string::npos) << history;
  EXPECT_EQ(history.find("write-image succeeded"), std::string::npos) << history;
  // Now the agent itself and the controller are killed, and both come back.
  agent_->Kill();
  controller_->Kill();
  ASSERT_EQ(StartController("", port), port);
  StartAgent(port);
  auto rollout = WaitForRollout(port, 90);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed") << agent_->Log();
  agent_->Kill();
  auto status =
      Agent({"status", dir_ / "disk.img", "--verify", "--json", "--state-dir", dir_ / "agent"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(Json(status.out)->getValue<std::string>("state"), "installed");
}

TEST_F(AgentDaemonTest, ASwitchedOffMachineIsSkippedAndServedWhenItComesBack) {
  // Issue 12, item 13: a wave opened only when every machine of the earlier ones had finished, so
  // one switched-off laptop stalled a rollout forever. pc-2's agent is killed (its machine
  // "switched off"); rollout waves are 1 then 2 machines, and pc-2 sorts first, so it alone is
  // the first wave.
  MakeWindowsDisk(dir_ / "disk2.img", "--label gpt --fill-mb 20");
  controller_flags_ = "--offline-after 3";
  int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  const std::string go = dir_ / "go";
  agent_ = SpawnHeldAfterTheWrite(port, go);
  auto laptop = Spawn(port, "pc-2", dir_ / "disk2.img", "laptop");
  WaitUntilRegistered(port, "pc-1");
  WaitUntilRegistered(port, "pc-2");
  laptop->Kill();
  auto created = Ctl(port, "rollout create --image 1.0 --all --waves 1,2 --machine-deadline 3s");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // pc-2 is offline, skipped past the deadline, and no longer holds up pc-1's wave.
  const std::string pc1 = WaitForEvent(port, "pc-1", "write-image succeeded");
  ASSERT_NE(pc1.find("write-image succeeded"), std::string::npos) << agent_->Log();
  auto rollout = Json(Ctl(port, "rollout show 1 --json").out)->getObject("rollout");
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("skipped"), 1);
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("failed"), 0);
  auto list = Ctl(port, "machine list");
  EXPECT_NE(list.out.find("offline"), std::string::npos) << list.out;
  auto machine = Json(Ctl(port, "machine show pc-2 --json").out)->getObject("machine");
  EXPECT_TRUE(machine->getValue<bool>("offline"));
  // pc-1 may count as well: held after its write it makes no contact at all.
  EXPECT_GE(Json(Ctl(port, "fleet summary --json").out)->getValue<int>("offline"), 1);
  // pc-2 comes back while the rollout is open: it is still served.
  laptop = Spawn(port, "pc-2", dir_ / "disk2.img", "laptop");
  const std::string pc2 = WaitForEvent(port, "pc-2", "download started");
  EXPECT_NE(pc2.find("download started"), std::string::npos) << laptop->Log();
  std::ofstream(go).put('\n');
  auto done = WaitForRollout(port, 90);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->getValue<std::string>("state"), "completed") << laptop->Log();
  EXPECT_EQ(done->getObject("progress")->getValue<int>("succeeded"), 2);
  EXPECT_EQ(done->getObject("progress")->getValue<int>("skipped"), 0);
  EXPECT_FALSE(Json(Ctl(port, "machine show pc-2 --json").out)
                   ->getObject("machine")
                   ->getValue<bool>("offline"));
}

}  // namespace
}  // namespace lifeboat::test
