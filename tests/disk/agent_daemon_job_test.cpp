// Rollouts that carry a job other than an install, end to end: a real controller, real agent
// daemons on real disk images, lifeboatctl. A WinRE grow reaches every machine in waves and gives
// WinRE the room Windows' WinRE update needs; a removal takes Lifeboat off, and its rollback
// installs it again. Checked with the agent's own read-only commands, sfdisk and ntfs-3g's tools.
#include "tests/disk/agent_daemon_fixture.h"

namespace lifeboat::test {
namespace {

// WinRE's place and free space as `lifeboat-agent winre show` reads it.
struct WinRePlace {
  uint64_t start = 0, size = 0, free = 0;
};

WinRePlace ShowWinRe(const std::string& disk) {
  auto shown = Agent({"winre", "show", disk, "--json"});
  EXPECT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  if (shown.exit_code != 0) return {};
  auto winre = Json(shown.out)->getObject("winre");
  return {winre->getValue<uint64_t>("start_bytes"), winre->getValue<uint64_t>("size_bytes"),
          winre->getValue<uint64_t>("free_bytes")};
}

// Every file of the NTFS volume of partition `number` (sfdisk's numbering from 1).
std::string FilesOfPartition(const std::string& disk, size_t number) {
  const SfTable table = Sfdisk(disk);
  if (number == 0 || number > table.partitions.size())
    return "no partition " + std::to_string(number);
  const SfPartition& p = table.partitions[number - 1];
  return NtfsFileSums(disk, p.start * table.sector_size, p.size * table.sector_size);
}

class AgentDaemonJobTest : public AgentDaemonTest {
 protected:
  // Waits until machine `id`'s inventory, as the controller holds it, reports WinRE with at least
  // `bytes` free (its agent reads the inventory again after a job); returns what it last said.
  uint64_t WaitForWinReFree(int port, const std::string& id, uint64_t bytes) {
    uint64_t free = 0;
    for (int i = 0; i < 120 && free < bytes; ++i) {
      auto shown = Ctl(port, "machine show " + id + " --json");
      if (shown.exit_code == 0) {
        auto inventory = Json(shown.out)->getObject("machine")->getObject("inventory");
        if (inventory && inventory->has("winre_free_bytes"))
          free = inventory->getValue<uint64_t>("winre_free_bytes");
      }
      if (free < bytes) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return free;
  }
};

TEST_F(AgentDaemonJobTest, AWinReGrowRolloutGivesEveryMachineTheRoomWindowsUpdateNeeds) {
  // Two machines, GPT and MBR, each with a 200 MB WinRE that Windows' update finds too small.
  MakeWindowsDisk(dir_ / "mbr.img", "--label mbr --fill-mb 20");
  struct Machine {
    std::string id, disk, state;
    size_t windows;  // Windows' partition number
    WinRePlace winre;
    std::string windows_files, winre_files;
  };
  std::vector<Machine> machines = {{"pc-gpt", dir_ / "disk.img", "gpt", 3, {}, "", ""},
                                   {"pc-mbr", dir_ / "mbr.img", "mbr", 2, {}, "", ""}};
  for (auto& m : machines) {
    m.winre = ShowWinRe(m.disk);
    ASSERT_LT(m.winre.free, 250'000'000u) << m.id;
    m.windows_files = FilesOfPartition(m.disk, m.windows);
    m.winre_files = NtfsFileSums(m.disk, m.winre.start, m.winre.size);
  }
  const int port = StartController();
  ASSERT_GT(port, 0);
  std::vector<std::unique_ptr<Background>> agents;
  for (const auto& m : machines) agents.push_back(Spawn(port, m.id, m.disk, m.state));
  for (const auto& m : machines) WaitForMachine(port, m.id);

  auto created = Ctl(port, "rollout create --winre-grow --all --waves 1,2");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("winre-grow --free 250MB"), std::string::npos) << created.out;
  ASSERT_EQ(WaitUntilSettled(port, 1, 120), "completed") << agents[0]->Log() << agents[1]->Log();
  auto rollout = Json(Ctl(port, "rollout show 1 --json").out)->getObject("rollout");
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("succeeded"), 2);
  auto job = rollout->getObject("spec")->getObject("job");
  EXPECT_EQ(job->getValue<std::string>("kind"), "winre_grow");
  EXPECT_EQ(job->getValue<uint64_t>("winre_free_bytes"), 250'000'000u);
  EXPECT_EQ(Ctl(port, "rollout list").out.find("winre-grow --free 250MB") != std::string::npos,
            true);

  for (const auto& m : machines) {
    SCOPED_TRACE(m.id);
    // WinRE has the room, its files are the same; Windows' files are the same.
    const WinRePlace after = ShowWinRe(m.disk);
    EXPECT_GE(after.free, 250'000'000u);
    EXPECT_GT(after.size, m.winre.size);
    EXPECT_EQ(NtfsFileSums(m.disk, after.start, after.size), m.winre_files);
    EXPECT_EQ(FilesOfPartition(m.disk, m.windows), m.windows_files);
    // The controller's record: the job, its steps as they ran, nothing installed.
    auto shown = Json(Ctl(port, "machine show " + m.id + " --json").out);
    auto attempt = shown->getArray("attempts")->getObject(0);
    EXPECT_EQ(attempt->getValue<std::string>("job"), "winre_grow");
    EXPECT_EQ(attempt->getValue<std::string>("image_version"), "");
    EXPECT_EQ(shown->getObject("machine")->getValue<std::string>("installed_version"), "");
    const std::string events = Events(port, m.id);
    EXPECT_NE(events.find("winre-grow started"), std::string::npos) << events;
    EXPECT_NE(events.find("grow-ntfs succeeded"), std::string::npos) << events;
    EXPECT_NE(events.find("done succeeded"), std::string::npos) << events;
    // ... and, with the next inventory, WinRE's free space: the machine is off the list.
    EXPECT_GE(WaitForWinReFree(port, m.id, 250'000'000), 250'000'000u);
  }
  EXPECT_EQ(Ctl(port, "machine list --winre-free-below 250MB --json").out.find("pc-"),
            std::string::npos);
  // No rollout shrinks WinRE back.
  auto rollback = Ctl(port, "rollout rollback 1");
  EXPECT_EQ(rollback.exit_code, 3);
  EXPECT_NE(rollback.err.find("disk restore"), std::string::npos) << rollback.err;
}

TEST_F(AgentDaemonJobTest, ARemoveRolloutTakesLifeboatOffAndItsRollbackPutsItBack) {
  const std::string disk = dir_ / "disk.img";
  const size_t partitions_before = Sfdisk(disk).partitions.size();
  const std::string windows_files = FilesOfPartition(disk, 3);
  const int port = StartWithImage("1.0");
  ASSERT_GT(port, 0) << "the controller did not start, or 1.0 was not published";
  StartAgent(port);
  WaitUntilRegistered(port, "pc-1");
  ASSERT_EQ(Ctl(port, "rollout create --image 1.0 --all").exit_code, 0);
  ASSERT_EQ(WaitUntilSettled(port, 1, 120), "completed") << agent_->Log();
  ASSERT_TRUE(Named(Sfdisk(disk), "Lifeboat"));
  // Windows starts in between, and its chkdsk clears the flag the shrink left.
  const SfPartition windows = Sfdisk(disk).partitions[2];
  ASSERT_NO_FATAL_FAILURE(ClearNtfsDirty(disk, windows.start * 512, windows.size * 512));

  auto created = Ctl(port, "rollout create --remove --reclaim windows --all");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("remove --reclaim windows"), std::string::npos) << created.out;
  ASSERT_EQ(WaitUntilSettled(port, 2, 120), "completed") << agent_->Log();
  // Lifeboat is gone from the disk, its room is Windows', every Windows file is as it was.
  const SfTable after = Sfdisk(disk);
  EXPECT_FALSE(Named(after, "Lifeboat"));
  EXPECT_EQ(after.partitions.size(), partitions_before);
  EXPECT_EQ(FilesOfPartition(disk, 3), windows_files);
  auto status = Agent({"status", disk, "--json", "--state-dir", dir_ / "agent"});
  EXPECT_EQ(Json(status.out)->getValue<std::string>("state"), "absent") << status.out;
  // The controller says so, with the removal's steps.
  auto shown = Json(Ctl(port, "machine show pc-1 --json").out);
  EXPECT_EQ(shown->getObject("machine")->getValue<std::string>("installed_version"), "");
  auto attempt = shown->getArray("attempts")->getObject(0);
  EXPECT_EQ(attempt->getValue<std::string>("job"), "remove");
  std::string steps;
  auto events = attempt->getArray("events");
  for (size_t i = 0; i < events->size(); ++i)
    steps += events->getObject(i)->getValue<std::string>("step") + " " +
             events->getObject(i)->getValue<std::string>("status") + "\n";
  for (const char* step : {"remove started", "edit-bcd succeeded", "delete-partition succeeded",
                           "grow-ntfs succeeded", "record succeeded", "done succeeded"})
    EXPECT_NE(steps.find(step), std::string::npos) << step << " in:\n" << steps;

  // The rollback installs 1.0 again on the machine the removal changed (once Windows has started
  // and checked the volume the removal grew).
  const SfPartition grown = Sfdisk(disk).partitions[2];
  ASSERT_NO_FATAL_FAILURE(ClearNtfsDirty(disk, grown.start * 512, grown.size * 512));
  auto rollback = Ctl(port, "rollout rollback 2 --json");
  ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
  auto back = Json(rollback.out)->getObject("rollout");
  EXPECT_EQ(back->getValue<int>("rollback_of"), 2);
  EXPECT_EQ(back->getObject("spec")->getValue<std::string>("image_version"), "1.0");
  ASSERT_EQ(WaitUntilSettled(port, back->getValue<int>("id"), 120), "completed") << agent_->Log();
  agent_->Kill();
  status = Agent({"status", disk, "--verify", "--json", "--state-dir", dir_ / "agent"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(Json(status.out)->getValue<std::string>("state"), "installed") << status.out;
  EXPECT_EQ(FilesOfPartition(disk, 3), windows_files);
}

}  // namespace
}  // namespace lifeboat::test
