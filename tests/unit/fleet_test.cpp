// The controller's domain on a real SQLite file with real WIMs made by wimlib: publishing, agents
// calling in, waves, thresholds, pause, resume, abort, rollback.
#include "controller/fleet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    for (const char* name : {"a", "b"})
      ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(*wims_ / (std::string(name) + ".wim"), ""));
  }
  static void TearDownTestSuite() { delete wims_; }

  void SetUp() override {
    auto s = FleetStore::OpenSqlite(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    fleet_ = std::make_unique<Fleet>(*store_, dir_ / "data", [this] { return now_; });
  }
  void AddMachines(int n, const std::string& ring) {
    for (int i = 0; i < n; ++i) {
      MachineRecord m;
      m.id = ring + std::to_string(i);
      m.hostname = m.id + ".corp";
      m.labels = {{"ring", ring}};
      ASSERT_TRUE(fleet_->Register(m));
    }
  }
  // Every machine calls in once; then those given work finish it with `ok`. Returns how many got
  // work.
  int Round(bool ok) {
    std::vector<std::pair<std::string, Assignment>> given;
    auto machines = fleet_->Machines({});
    EXPECT_TRUE(machines);
    for (const auto& m : *machines) {
      auto a = fleet_->Heartbeat(m.id, "", m.installed_version, AgentState::kIdle, "");
      EXPECT_TRUE(a) << a.error().message;
      if (a && *a) given.emplace_back(m.id, **a);
    }
    for (const auto& [id, a] : given) {
      std::vector<StepEvent> events = {
          {1, "download", StepStatus::kStarted, 0, 0, "", ""},
          {2, ok ? "done" : "write-image", ok ? StepStatus::kSucceeded : StepStatus::kFailed, 0, 0,
           ok ? "" : "disk full", ""}};
      EXPECT_TRUE(fleet_->Report(id, a.attempt_id, events));
      if (ok) {
        EXPECT_TRUE(fleet_->Heartbeat(id, "", a.image.version, AgentState::kIdle, ""));
      }
    }
    now_ += std::chrono::seconds(30);
    return static_cast<int>(given.size());
  }

  static TempDir* wims_;
  TempDir dir_;
  TimePoint now_ = Clock::now();
  std::unique_ptr<FleetStore> store_;
  std::unique_ptr<Fleet> fleet_;
};
TempDir* FleetTest::wims_ = nullptr;

TEST_F(FleetTest, PublishChecksImagesAndStoresThemByHash) {
  auto a = fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->architecture, "x64");
  EXPECT_TRUE(a->has_winload_efi);
  EXPECT_TRUE(std::filesystem::exists(a->blob_path));
  EXPECT_FALSE(a->unchanged);
  auto again = fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->sha256, a->sha256);
  EXPECT_EQ(fleet_->catalog().PublishFromPath("1.0", *wims_ / "b.wim").error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(fleet_->catalog().PublishFromPath("bad version!", *wims_ / "b.wim").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(fleet_->catalog().PublishFromPath("2.0", *wims_ / "none.wim").error().code,
            ErrorCode::kNotFound);
  ASSERT_EQ(Sh("head -c 100000 /dev/urandom > " + Quote(dir_ / "junk.wim")).exit_code, 0);
  auto junk = fleet_->catalog().PublishFromPath("2.0", dir_ / "junk.wim");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(*store_->FindImage("2.0"));
}

TEST_F(FleetTest, UploadsAreCheckedAgainstTheirHashAndLeaveNothingWhenWrong) {
  auto bytes = Sh("cat " + Quote(*wims_ / "b.wim")).out;
  auto sha = Sh("sha256sum " + Quote(*wims_ / "b.wim")).out.substr(0, 64);
  {
    auto upload = fleet_->catalog().StartUpload("2.0", std::string(64, 'a'), bytes.size());
    ASSERT_TRUE(upload);
    ASSERT_TRUE((*upload)->Append(bytes.data(), bytes.size()));
    auto finished = (*upload)->Finish();
    ASSERT_FALSE(finished);
    EXPECT_EQ(finished.error().code, ErrorCode::kVerification);
    EXPECT_NE(finished.error().message.find("sha256"), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "data/uploads"));
  EXPECT_FALSE(*store_->FindImage("2.0"));
  auto upload = fleet_->catalog().StartUpload("2.0", sha, bytes.size());
  ASSERT_TRUE(upload);
  ASSERT_TRUE((*upload)->Append(bytes.data(), 1000));
  ASSERT_TRUE((*upload)->Append(bytes.data() + 1000, bytes.size() - 1000));
  auto image = (*upload)->Finish();
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->sha256, sha);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "data/uploads"));
}

TEST_F(FleetTest, WavesReachEveryMachineAndTheRolloutCompletes) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(20, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {{true, 10}, {true, 50}, {true, 100}}};
  spec.allow_unsigned = true;  // the test images are unsigned
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->rollout.wave_ends, (std::vector<uint32_t>{2, 10, 20}));
  EXPECT_EQ(Round(true), 2);
  EXPECT_EQ(Round(true), 8);
  EXPECT_EQ(Round(true), 10);
  auto done = fleet_->Rollout(created->rollout.id);
  EXPECT_EQ(done->rollout.state, RolloutState::kCompleted);
  EXPECT_EQ(done->evaluation.succeeded, 20u);
  auto summary = fleet_->Summary();
  EXPECT_EQ(summary->by_version["1.0"], 20u);
  auto history = fleet_->Machine("prod3");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->attempts.size(), 1u);
  EXPECT_EQ(history->attempts[0].state, MemberState::kSucceeded);
  EXPECT_EQ(history->attempts[0].events.size(), 2u);
}

TEST_F(FleetTest, FailureThresholdHaltsThenResumeAbortAndRollback) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("2.0", *wims_ / "b.wim"));
  AddMachines(10, "prod");
  RolloutSpec v1{"1.0", {true, {}, {}}, {}};
  v1.allow_unsigned = true;  // the test images are unsigned
  auto first = fleet_->CreateRollout(v1);
  ASSERT_TRUE(first);
  Round(true);
  ASSERT_EQ(fleet_->Rollout(first->rollout.id)->rollout.state, RolloutState::kCompleted);

  RolloutSpec v2{"2.0", {true, {}, {}}, {{true, 20}, {true, 100}}};

  v2.allow_unsigned = true;  // the test images are unsigned
  v2.failure_threshold_percent = 40;
  auto second = fleet_->CreateRollout(v2);
  ASSERT_TRUE(second);
  EXPECT_EQ(Round(false), 2);  // both canaries fail: 100 % > 40 %
  auto halted = fleet_->Rollout(second->rollout.id);
  EXPECT_EQ(halted->rollout.state, RolloutState::kHalted);
  EXPECT_NE(halted->rollout.message.find("over the threshold"), std::string::npos);
  EXPECT_EQ(Round(true), 0);  // nothing more is handed out
  EXPECT_EQ(fleet_->catalog().RetireImage("2.0").error().code, ErrorCode::kConflict);

  ASSERT_TRUE(fleet_->Pause(second->rollout.id));
  EXPECT_EQ(fleet_->Rollout(second->rollout.id)->rollout.state, RolloutState::kPaused);
  ASSERT_TRUE(fleet_->Abort(second->rollout.id));
  EXPECT_EQ(fleet_->Resume(second->rollout.id).error().code, ErrorCode::kConflict);
  EXPECT_EQ(fleet_->Rollback(second->rollout.id).error().code,
            ErrorCode::kConflict);  // changed nothing

  // A third rollout to 2.0 that succeeds, then its rollback to 1.0 for the machines it changed.
  RolloutSpec again{"2.0", {false, {{"ring", "prod"}}, {}}, {}};
  again.allow_unsigned = true;  // the test images are unsigned
  auto third = fleet_->CreateRollout(again);
  ASSERT_TRUE(third) << third.error().message;
  Round(true);
  auto rollback = fleet_->Rollback(third->rollout.id);
  ASSERT_TRUE(rollback) << rollback.error().message;
  EXPECT_EQ(rollback->rollout.spec.image_version, "1.0");
  EXPECT_EQ(rollback->rollout.rollback_of, third->rollout.id);
  EXPECT_EQ(rollback->rollout.spec.selector.machine_ids.size(), 10u);
}

TEST_F(FleetTest, AResumedRolloutHandsOutWorkAgainAtOnce) {
  // Issue 12, item 12: resume returned ok and the store said active, but heartbeats still saw the
  // paused rollout in the cache until the controller restarted.
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(4, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {{true, 50}, {true, 100}}};
  spec.allow_unsigned = true;  // the test images are unsigned
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created) << created.error().message;
  const uint64_t id = created->rollout.id;
  ASSERT_TRUE(fleet_->Pause(id));
  EXPECT_EQ(Round(true), 0) << "a paused rollout hands out nothing";
  auto resumed = fleet_->Resume(id);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(resumed->rollout.state, RolloutState::kActive);
  EXPECT_EQ(Round(true), 2) << "the first wave is handed out right after the resume";
  EXPECT_EQ(Round(true), 2);
  EXPECT_EQ(fleet_->Rollout(id)->rollout.state, RolloutState::kCompleted);
}

TEST_F(FleetTest, AResumedHaltedRolloutGoesOnPastTheFailuresItWasResumedWith) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(10, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {{true, 20}, {true, 100}}};
  spec.allow_unsigned = true;  // the test images are unsigned
  spec.failure_threshold_percent = 40;
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created);
  const uint64_t id = created->rollout.id;
  EXPECT_EQ(Round(false), 2);  // both canaries fail
  ASSERT_EQ(fleet_->Rollout(id)->rollout.state, RolloutState::kHalted);
  auto resumed = fleet_->Resume(id);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(resumed->rollout.state, RolloutState::kActive)
      << "the failures the operator resumed with do not halt it again";
  EXPECT_EQ(Round(true), 8) << "the next wave opens";
  auto done = fleet_->Rollout(id);
  EXPECT_EQ(done->evaluation.failed, 2u);
  EXPECT_EQ(done->evaluation.succeeded, 8u);
}

TEST_F(FleetTest, AnUnsignedImageIsRolledOutOnlyWhenAskedExplicitly) {
  // Issue 12, item 15: every agent refuses an unsigned image, so such a rollout can only fail.
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(2, "lab");
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  auto refused = fleet_->CreateRollout(spec);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("not signed"), std::string::npos);
  EXPECT_TRUE(fleet_->Rollouts()->empty());
  spec.allow_unsigned = true;
  EXPECT_TRUE(fleet_->CreateRollout(spec));
}

TEST_F(FleetTest, ARolloutWhereMachinesFailedNeverReadsAsPlainSuccess) {
  // Issue 12, item 14: the threshold defaulted to off, and a rollout where every machine failed
  // ended "completed".
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(10, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.allow_unsigned = true;
  EXPECT_EQ(spec.failure_threshold_percent, kDefaultFailureThresholdPercent);
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created);
  EXPECT_EQ(Round(false), 10);
  EXPECT_EQ(fleet_->Rollout(created->rollout.id)->rollout.state, RolloutState::kHalted)
      << "the default threshold halts it";
  // With the threshold off, the rollout finishes, but not as plain success.
  spec.failure_threshold_percent = 0;
  ASSERT_TRUE(fleet_->Abort(created->rollout.id));
  auto second = fleet_->CreateRollout(spec);
  ASSERT_TRUE(second) << second.error().message;
  Round(false);
  auto done = fleet_->Rollout(second->rollout.id);
  EXPECT_EQ(done->rollout.state, RolloutState::kCompletedWithFailures);
  EXPECT_NE(done->rollout.message.find("10 failed"), std::string::npos) << done->rollout.message;
}

TEST_F(FleetTest, BadRolloutsAndAgentsAreRefused) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(3, "lab");
  RolloutSpec spec{"9.9", {true, {}, {}}, {}};
  spec.allow_unsigned = true;  // the test images are unsigned
  EXPECT_EQ(fleet_->CreateRollout(spec).error().code, ErrorCode::kNotFound);
  spec.image_version = "1.0";
  spec.waves = {{true, 50}, {true, 10}};
  EXPECT_EQ(fleet_->CreateRollout(spec).error().code, ErrorCode::kInvalidArgument);
  spec.waves.clear();
  spec.selector = {false, {}, {"lab0", "ghost"}};
  auto ghost = fleet_->CreateRollout(spec);
  EXPECT_EQ(ghost.error().code, ErrorCode::kNotFound);
  EXPECT_NE(ghost.error().message.find("ghost"), std::string::npos);
  spec.selector = {true, {}, {}};
  ASSERT_TRUE(fleet_->CreateRollout(spec));
  EXPECT_EQ(fleet_->CreateRollout(spec).error().code,
            ErrorCode::kConflict);  // one open rollout each
  EXPECT_EQ(fleet_->Heartbeat("ghost", "", "", AgentState::kIdle, "").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(
      fleet_->Report("lab0", 12345, {{1, "x", StepStatus::kStarted, 0, 0, "", ""}}).error().code,
      ErrorCode::kNotFound);
  EXPECT_EQ(fleet_->Register(MachineRecord{}).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FleetTest, JobRolloutsCarryTheirJobAndRecordWhatTheyChanged) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(4, "lab");
  RolloutSpec install{"1.0", {true, {}, {}}, {}};
  install.allow_unsigned = true;  // the test images are unsigned
  ASSERT_TRUE(fleet_->CreateRollout(install));
  EXPECT_EQ(Round(true), 4);

  // A WinRE grow: no image; the machine is told the job and its size, and keeps its version.
  RolloutSpec grow{"", {true, {}, {}}, {{false, 1}, {false, 4}}};
  grow.job = {JobKind::kWinReGrow, 250'000'000, 0, "none"};
  auto grown = fleet_->CreateRollout(grow);
  ASSERT_TRUE(grown) << grown.error().message;
  EXPECT_EQ(grown->rollout.spec.job, grow.job);
  EXPECT_EQ(grown->rollout.spec.image_version, "");
  std::vector<std::pair<std::string, Assignment>> told;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "lab" + std::to_string(i);
    auto a = fleet_->Heartbeat(id, "", "1.0", AgentState::kIdle, "");
    ASSERT_TRUE(a) << a.error().message;
    if (*a) told.emplace_back(id, **a);
  }
  ASSERT_EQ(told.size(), 1u);  // the first wave
  EXPECT_EQ(told[0].second.job, grow.job);
  EXPECT_EQ(told[0].second.image.version, "");
  ASSERT_TRUE(fleet_->Report(told[0].first, told[0].second.attempt_id,
                             {{1, "winre-grow", StepStatus::kStarted, 0, 0, "", ""},
                              {2, "done", StepStatus::kSucceeded, 0, 0, "", ""}}));
  now_ += std::chrono::seconds(30);
  EXPECT_EQ(Round(true), 3);
  EXPECT_EQ(fleet_->Rollout(grown->rollout.id)->rollout.state, RolloutState::kCompleted);
  auto machine = fleet_->Machine(told[0].first);
  ASSERT_TRUE(machine);
  EXPECT_EQ(machine->machine.installed_version, "1.0");
  EXPECT_EQ(machine->attempts[0].job, JobKind::kWinReGrow);
  EXPECT_EQ(machine->attempts[0].image_version, "");
  EXPECT_EQ(machine->attempts[1].job, JobKind::kInstall);
  EXPECT_EQ(machine->attempts[1].image_version, "1.0");
  // No rollout shrinks WinRE again.
  auto undo = fleet_->Rollback(grown->rollout.id);
  ASSERT_FALSE(undo);
  EXPECT_EQ(undo.error().code, ErrorCode::kConflict);
  EXPECT_NE(undo.error().message.find("disk restore"), std::string::npos) << undo.error().message;

  // A removal: the machines it reached have nothing installed any more.
  RolloutSpec remove{"", {false, {}, {"lab0", "lab1"}}, {}};
  remove.job = {JobKind::kRemove, 0, 0, "windows"};
  auto removed = fleet_->CreateRollout(remove);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(Round(true), 2);
  EXPECT_EQ(fleet_->Rollout(removed->rollout.id)->rollout.state, RolloutState::kCompleted);
  for (const auto& [id, version] : std::vector<std::pair<std::string, std::string>>{
           {"lab0", ""}, {"lab1", ""}, {"lab2", "1.0"}, {"lab3", "1.0"}})
    EXPECT_EQ(fleet_->Machine(id)->machine.installed_version, version) << id;
  // Its rollback would install again what they had, as an install rollout does: the test image
  // is unsigned, so it is refused as such a rollout is (AgentDaemonJobTest rolls one back).
  auto back = fleet_->Rollback(removed->rollout.id);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, ErrorCode::kConflict);
  EXPECT_NE(back.error().message.find("1.0 is not signed"), std::string::npos)
      << back.error().message;
}

TEST_F(FleetTest, AJobRolloutWithTheWrongOptionsIsRefusedNamingTheField) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(2, "lab");
  struct Case {
    RolloutJob job;
    std::string image_version;
    bool allow_unsigned;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{JobKind::kWinReGrow, 250'000'000, 0, "none"}, "1.0", false, "image_version"},
      {{JobKind::kWinReGrow, 0, 0, "none"}, "", false, "job.winre_grow"},
      {{JobKind::kWinReGrow, 250'000'000, 1ull << 30, "none"}, "", false, "job.winre_grow"},
      {{JobKind::kWinReGrow, 0, 64ull << 30, "none"}, "", false, "job.winre_grow"},
      {{JobKind::kWinReGrow, 250'000'000, 0, "windows"}, "", false, "job.remove"},
      {{JobKind::kRemove, 0, 0, "everything"}, "", false, "job.remove.reclaim"},
      {{JobKind::kRemove, 250'000'000, 0, "none"}, "", false, "job.winre_grow"},
      {{JobKind::kRemove, 0, 0, "none"}, "", true, "allow_unsigned"},
      {{JobKind::kInstall, 0, 0, "none"}, "", false, "image_version"},
  };
  for (const auto& c : cases) {
    RolloutSpec spec{c.image_version, {true, {}, {}}, {}};
    spec.job = c.job;
    spec.allow_unsigned = c.allow_unsigned;
    auto refused = fleet_->CreateRollout(spec);
    ASSERT_FALSE(refused) << DescribeJob(c.job, c.image_version);
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().field, c.field) << refused.error().message;
  }
  EXPECT_TRUE(fleet_->Rollouts()->empty());
}

// A statement run by SQLite's own tool on `db`; its output.
std::string Sqlite(const std::string& db, const std::string& statement) {
  auto r = Sh("sqlite3 " + Quote(db) + " " + Quote(statement));
  EXPECT_EQ(r.exit_code, 0) << statement << ": " << r.err;
  return r.out;
}

// Heartbeats decide under the cache's lock and store the attempt outside it: many at once, the
// same machine among them, still give out no more than the cap and one attempt per machine.
TEST_F(FleetTest, ConcurrentHeartbeatsKeepTheCapAndGiveAMachineOneAttempt) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(40, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.allow_unsigned = true;  // the test images are unsigned
  spec.max_in_progress = 5;
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created) << created.error().message;

  std::mutex given_mutex;
  std::map<std::string, std::set<uint64_t>> given;  // machine -> attempt ids it was handed
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const std::string id = "prod" + std::to_string((i * 7 + t * 3) % 40);
        auto a = fleet_->Heartbeat(id, "", "", AgentState::kIdle, "");
        ASSERT_TRUE(a) << a.error().message;
        std::lock_guard lock(given_mutex);
        if (*a) given[id].insert((*a)->attempt_id);
      }
    });
  }
  for (auto& c : callers) c.join();

  EXPECT_EQ(given.size(), 5u) << "the cap is 5 machines at a time";
  for (const auto& [id, attempts] : given) EXPECT_EQ(attempts.size(), 1u) << id;
  EXPECT_EQ(fleet_->Rollout(created->rollout.id)->evaluation.in_progress, 5u);
  // SQLite's own tool: five attempts, five members assigned once each.
  const std::string db = dir_ / "fleet.db";
  EXPECT_EQ(Sqlite(db, "SELECT count(*) FROM attempts"), "5\n");
  EXPECT_EQ(Sqlite(db,
                   "SELECT count(*) FROM rollout_members WHERE state = 'assigned' AND attempts = 1 "
                   "AND last_attempt_id > 0"),
            "5\n");
}

TEST_F(FleetTest, AnAttemptTheStoreRefusesLeavesTheMachineAsItWas) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(1, "prod");
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.allow_unsigned = true;  // the test images are unsigned
  auto created = fleet_->CreateRollout(spec);
  ASSERT_TRUE(created) << created.error().message;
  const std::string db = dir_ / "fleet.db";
  // SQLite itself refuses the attempt, as a full disk or a broken file would.
  Sqlite(db,
         "CREATE TRIGGER refuse BEFORE INSERT ON attempts BEGIN SELECT RAISE(ABORT, 'refused'); "
         "END");
  auto refused = fleet_->Heartbeat("prod0", "", "0.9", AgentState::kIdle, "");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("refused"), std::string::npos) << refused.error().message;
  auto view = fleet_->Rollout(created->rollout.id);
  EXPECT_EQ(view->evaluation.in_progress, 0u);
  EXPECT_EQ(view->evaluation.pending, 1u);
  EXPECT_EQ(Sqlite(db, "SELECT state, attempts FROM rollout_members"), "pending|0\n");

  Sqlite(db, "DROP TRIGGER refuse");
  auto given = fleet_->Heartbeat("prod0", "", "0.9", AgentState::kIdle, "");
  ASSERT_TRUE(given && *given) << (given ? "no work" : given.error().message);
  EXPECT_EQ(fleet_->Rollout(created->rollout.id)->evaluation.in_progress, 1u);
  EXPECT_EQ(Sqlite(db,
                   "SELECT state, attempts, previous_version, last_attempt_id FROM "
                   "rollout_members"),
            "assigned|1|0.9|" + std::to_string((*given)->attempt_id) + "\n");
  auto again = fleet_->Heartbeat("prod0", "", "0.9", AgentState::kIdle, "");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->attempt_id, (*given)->attempt_id) << "the same work, given again";
}

// Heartbeats are written after they are answered: one still queued when its machine reports a
// removal finished said "1.0", and was written over the report's "nothing installed" (the next
// heartbeat, with no version, kept it). Each machine here reports right after its heartbeat.
TEST_F(FleetTest, AHeartbeatQueuedBeforeAReportIsNotWrittenOverIt) {
  ASSERT_TRUE(fleet_->catalog().PublishFromPath("1.0", *wims_ / "a.wim"));
  AddMachines(40, "lab");
  RolloutSpec install{"1.0", {true, {}, {}}, {}};
  install.allow_unsigned = true;  // the test images are unsigned
  ASSERT_TRUE(fleet_->CreateRollout(install));
  EXPECT_EQ(Round(true), 40);
  RolloutSpec remove{"", {true, {}, {}}, {}};
  remove.job = {JobKind::kRemove, 0, 0, "windows"};
  ASSERT_TRUE(fleet_->CreateRollout(remove));
  for (int i = 0; i < 40; ++i) {
    const std::string id = "lab" + std::to_string(i);
    auto a = fleet_->Heartbeat(id, "", "1.0", AgentState::kIdle, "");
    ASSERT_TRUE(a && *a) << id;
    ASSERT_TRUE(fleet_->Report(id, (*a)->attempt_id,
                               {{1, "remove", StepStatus::kStarted, 0, 0, "", ""},
                                {2, "done", StepStatus::kSucceeded, 0, 0, "", ""}}));
  }
  auto summary = fleet_->Summary();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->by_version, (std::map<std::string, uint32_t>{{"", 40}}));
}

}  // namespace
}  // namespace lifeboat::controller
