// The agent daemon with a real controller process: a rollout installs the image on the agent's
// disk and the controller records every step; a chunk damaged in transit is refused and fetched
// again; steps reach the controller while apply runs; the maintenance window; unsigned images;
// an agent that starts while the controller is down registers once it is back; between
// heartbeats only the daemon is left, holding no connection. (Stopping, killing, failing and
// offline machines: agent_daemon_rollout_test.cpp.)
#include "tests/disk/agent_daemon_fixture.h"

namespace lifeboat::test {
namespace {

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
  std::string steps, check_image;
  auto events = attempt->getArray("events");
  for (size_t i = 0; i < events->size(); ++i) {
    auto event = events->getObject(i);
    steps += event->getValue<std::string>("step") + " ";
    if (event->getValue<std::string>("step") == "check-image")
      check_image += event->optValue<std::string>("message", "");
  }
  for (const char* step : {"download", "check-image", "prepare-partition", "write-image",
                           "verify-image", "edit-bcd", "done"})
    EXPECT_NE(steps.find(step), std::string::npos) << steps;
  // The signed hash was handed to apply: the image was read once, its bytes proved as written.
  EXPECT_NE(check_image.find("metadata checked"), std::string::npos) << check_image;
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

}  // namespace
}  // namespace lifeboat::test
