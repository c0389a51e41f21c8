// The fixture of the agent daemon's tests: a real controller process on loopback, agents started
// in the background on their own disk images, and what the tests ask the controller through
// lifeboatctl.
#pragma once

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
inline std::vector<int> ChildrenOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<int> children;
  for (int child; in >> child;) children.push_back(child);
  return children;
}

// Whether `pid` holds a socket (a connection to the controller) among its open files.
inline bool HoldsASocket(int pid) {
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    if (std::filesystem::read_symlink(fd.path(), ec).string().starts_with("socket:")) return true;
  }
  return false;
}

// Whether a lifeboat-agent-contact started for this config file is running.
inline bool AContactRunsFor(const std::filesystem::path& config) {
  return Sh("pgrep -f " + Quote("lifeboat-agent-contact --config " + config.string())).exit_code ==
         0;
}

class AgentDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(MakeTestWim(dir_ / "v1.wim", "--size-mb 12"));
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

}  // namespace lifeboat::test
