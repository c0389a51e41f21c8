// The agent daemon and the controller when things go wrong or are stopped: stopping the agent lets
// an apply in progress finish and report first; a killed daemon takes its contact with it; a
// machine without room fails clearly and the threshold halts the rollout; abort; killed
// controller and agent both recover; a switched-off machine is skipped and served when it is back.
#include "tests/disk/agent_daemon_fixture.h"

namespace lifeboat::test {
namespace {

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
