// The controller's store on a real SQLite file: images, machines, rollouts, attempts, events,
// what survives reopening, and the refusals.
#include "controller/fleet_store.h"

#include <gtest/gtest.h>

#include "controller/heartbeat_batcher.h"
#include "controller/store_session.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using test::TempDir;

ImageRecord Image(const std::string& version, const std::string& sha) {
  ImageRecord i;
  i.version = version;
  i.sha256 = sha;
  i.size = 1234;
  i.name = "PE";
  i.architecture = "x64";
  i.boot_index = 1;
  i.file_count = 6;
  i.has_winload_efi = i.has_winload_exe = i.has_boot_sdi = true;
  i.blob_path = "/blobs/" + sha;
  return i;
}

MachineRecord Machine(const std::string& id, std::map<std::string, std::string> labels) {
  MachineRecord m;
  m.id = id;
  m.hostname = id + ".example";
  m.labels = std::move(labels);
  m.inventory = "inventory of " + id;
  return m;
}

class FleetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = FleetStore::OpenSqlite(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  TempDir dir_;
  std::unique_ptr<FleetStore> store_;
};

TEST_F(FleetStoreTest, ImagesAreUniqueByVersionAndRetireRespectsRollouts) {
  ASSERT_TRUE(store_->AddImage(Image("1.0", "aa")));
  auto dup = store_->AddImage(Image("1.0", "bb"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->AddImage(Image("2.0", "bb")));
  EXPECT_EQ((*store_->FindImageBySha("bb"))->version, "2.0");
  EXPECT_FALSE(*store_->FindImage("3.0"));
  auto found = store_->FindImage("1.0");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->size, 1234u);
  EXPECT_TRUE((*found)->has_boot_sdi);
  EXPECT_FALSE((*found)->published_at.empty());

  ASSERT_TRUE(store_->RegisterMachine(Machine("m1", {})));
  RolloutRecord r;
  r.spec.image_version = "2.0";
  r.spec.selector.all = true;
  r.wave_ends = {1};
  ASSERT_TRUE(store_->CreateRollout(r, {"m1"}));
  auto busy = store_->RetireImage("2.0");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::kConflict);
  auto retired = store_->RetireImage("1.0");
  ASSERT_TRUE(retired);
  EXPECT_TRUE(retired->retired);
  EXPECT_EQ(store_->ListImages(false)->size(), 1u);
  EXPECT_EQ(store_->ListImages(true)->size(), 2u);
  EXPECT_EQ(store_->RetireImage("9.9").error().code, ErrorCode::kNotFound);
}

TEST_F(FleetStoreTest, MachinesRegisterIdempotentlyAndFilterByLabels) {
  ASSERT_TRUE(store_->RegisterMachine(Machine("m1", {{"site", "paris"}, {"ring", "canary"}})));
  ASSERT_TRUE(store_->RegisterMachine(Machine("m2", {{"site", "paris"}})));
  ASSERT_TRUE(store_->RegisterMachine(Machine("m1", {{"site", "lyon"}})));  // again: refreshed
  EXPECT_EQ(store_->ListMachines({})->size(), 2u);
  auto paris = store_->ListMachines({{"site", "paris"}});
  ASSERT_EQ(paris->size(), 1u);
  EXPECT_EQ((*paris)[0].id, "m2");
  // One batch: a full heartbeat, an unregistered machine (skipped), and a state-only heartbeat
  // that keeps the inventory and version.
  ASSERT_TRUE(store_->RecordHeartbeats({{"m2", "inv2", "1.0", AgentState::kApplying, "write-image"},
                                        {"nobody", "", "", AgentState::kIdle, ""},
                                        {"m1", "", "", AgentState::kDownloading, "download"}}));
  auto m2 = *store_->FindMachine("m2");
  EXPECT_EQ(m2->installed_version, "1.0");
  EXPECT_EQ(m2->inventory, "inv2");
  EXPECT_EQ(m2->state, AgentState::kApplying);
  EXPECT_EQ(m2->current_step, "write-image");
  ASSERT_TRUE(store_->RecordHeartbeats({{"m2", "", "", AgentState::kIdle, ""}}));
  m2 = *store_->FindMachine("m2");
  EXPECT_EQ(m2->inventory, "inv2");
  EXPECT_EQ(m2->installed_version, "1.0");
  EXPECT_EQ(m2->state, AgentState::kIdle);
  EXPECT_EQ((*store_->FindMachine("m1"))->state, AgentState::kDownloading);
  ASSERT_TRUE(store_->RecordHeartbeats(
      {{"m1", "", "2.0", AgentState::kIdle, ""}}));  // a version, no inventory
  EXPECT_EQ((*store_->FindMachine("m1"))->installed_version, "2.0");
  EXPECT_FALSE(*store_->FindMachine("nobody"));
  EXPECT_EQ(store_->MachineIds()->size(), 2u);
}

// A large rollout is stored in steps (heartbeats are written between them): until the last
// step no read shows it, and a stop in between leaves nothing once the store is opened again.
TEST_F(FleetStoreTest, ARolloutBeingCreatedIsUnseenUntilWholeAndGoneAfterAStop) {
  ASSERT_TRUE(store_->AddImage(Image("1.0", "aa")));
  std::vector<std::string> ids;
  for (int i = 0; i < 2500; ++i) {
    ids.push_back("m" + std::to_string(10000 + i));
    ASSERT_TRUE(store_->RegisterMachine(Machine(ids.back(), {{"ring", i % 2 ? "odd" : "even"}})));
  }
  // The targets' ids a page at a time, by label.
  auto page = store_->MachineIdsPage({{"ring", "odd"}}, "m10001", 3);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].first, "m10003");
  EXPECT_EQ((*page)[2].first, "m10007");

  RolloutRecord r;
  r.spec.image_version = "1.0";
  r.spec.selector.all = true;
  r.state = RolloutState::kActive;
  r.wave_ends = {50, 2500};
  auto half = store_->BeginRollout(r);
  ASSERT_TRUE(half) << half.error().message;
  ASSERT_TRUE(store_->AddMembers(*half, {ids.begin(), ids.begin() + 2000}, 0));
  EXPECT_TRUE(store_->ListRollouts()->empty());
  EXPECT_FALSE(*store_->FindRollout(*half));
  EXPECT_FALSE(*store_->OpenRolloutOf(ids[0]));
  EXPECT_EQ(store_->Summary()->active_rollouts, 0u);

  // The controller stopped here: reopened, the store forgets it.
  store_.reset();
  auto reopened = FleetStore::OpenSqlite(dir_ / "fleet.db");
  ASSERT_TRUE(reopened);
  store_ = std::move(*reopened);
  EXPECT_EQ(*store_->DiscardHalfCreatedRollouts(), 1u);
  auto leftovers =
      test::Sh("sqlite3 " + test::Quote(dir_ / "fleet.db") +
               " 'SELECT COUNT(*) FROM rollout_members; SELECT COUNT(*) FROM rollouts'");
  EXPECT_EQ(leftovers.out, "0\n0\n");

  // Whole: seen, with every member in order, and a page of them read alone.
  auto whole = store_->CreateRollout(r, ids);
  ASSERT_TRUE(whole) << whole.error().message;
  ASSERT_EQ(store_->ListRollouts()->size(), 1u);
  EXPECT_EQ(*store_->OpenRolloutOf(ids[2499]), *whole);
  auto members = store_->Members(*whole);
  ASSERT_EQ(members->size(), 2500u);
  for (uint32_t p = 0; p < 2500; ++p) {
    ASSERT_EQ((*members)[p].member.position, p);
    ASSERT_EQ((*members)[p].member.machine_id, ids[p]);
  }
  auto some = store_->MembersPage(*whole, 1999, 3);
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ((*some)[0].member.machine_id, ids[1999]);
  EXPECT_EQ((*some)[2].member.machine_id, ids[2001]);
  EXPECT_EQ(*store_->DiscardHalfCreatedRollouts(), 0u);
}

// Heartbeats are answered once queued; Flush (which every reader of machines calls first) writes
// them, a later heartbeat of a machine over an earlier one, keeping what it left empty.
TEST_F(FleetStoreTest, QueuedHeartbeatsAreWrittenByFlushTheLatestOverTheEarlier) {
  ASSERT_TRUE(store_->RegisterMachine(Machine("m1", {})));
  ASSERT_TRUE(store_->RegisterMachine(Machine("m2", {})));
  HeartbeatBatcher batcher(*store_);
  ASSERT_TRUE(batcher.Record({"m1", "inventory 1", "1.0", AgentState::kDownloading, "download"}));
  ASSERT_TRUE(batcher.Record({"m1", "", "", AgentState::kApplying, "write-image"}));
  ASSERT_TRUE(batcher.Record({"m2", "inventory 2", "2.0", AgentState::kIdle, ""}));
  ASSERT_TRUE(batcher.Flush());
  auto m1 = *store_->FindMachine("m1");
  EXPECT_EQ(m1->inventory, "inventory 1");
  EXPECT_EQ(m1->installed_version, "1.0");
  EXPECT_EQ(m1->state, AgentState::kApplying);
  EXPECT_EQ(m1->current_step, "write-image");
  EXPECT_EQ((*store_->FindMachine("m2"))->installed_version, "2.0");
}

TEST_F(FleetStoreTest, AttemptsEventsAreIdempotentBySequenceAndSurviveReopening) {
  ASSERT_TRUE(store_->AddImage(Image("1.0", "aa")));
  for (const char* id : {"m1", "m2"}) ASSERT_TRUE(store_->RegisterMachine(Machine(id, {})));
  RolloutRecord r;
  r.spec.image_version = "1.0";
  r.spec.selector.labels = {{"ring", "canary"}};
  r.spec.waves = {{true, 50}, {true, 100}};
  r.spec.max_retries = 2;
  r.spec.wait_between_waves = std::chrono::seconds(60);
  r.wave_ends = {1, 2};
  auto id = store_->CreateRollout(r, {"m2", "m1"});
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(**store_->OpenRolloutOf("m1"), *id);
  auto attempt = store_->StartAttempt(*id, "m2", JobKind::kInstall, "1.0", "0.9");
  ASSERT_TRUE(attempt) << attempt.error().message;
  std::vector<StepEvent> events = {{1, "download", StepStatus::kStarted, 0, 100, "", "t1"},
                                   {2, "download", StepStatus::kProgress, 50, 100, "", "t2"}};
  EXPECT_EQ(store_->AddEvents(attempt->id, events)->highest_sequence, 2u);
  auto retried = store_->AddEvents(attempt->id, events);  // a retried report
  EXPECT_EQ(retried->highest_sequence, 2u);
  EXPECT_EQ(retried->attempt_state, MemberState::kRunning);
  EXPECT_EQ(retried->machine_id, "m2");
  events = {{2, "download", StepStatus::kProgress, 50, 100, "", "t2"},
            {3, "done", StepStatus::kSucceeded, 100, 100, "", "t3"}};
  auto final_report = store_->AddEvents(attempt->id, events);
  EXPECT_EQ(final_report->highest_sequence, 3u);
  EXPECT_EQ(final_report->attempt_state, MemberState::kSucceeded);

  store_.reset();  // everything acknowledged is on disk
  auto reopened = FleetStore::OpenSqlite(dir_ / "fleet.db");
  ASSERT_TRUE(reopened);
  auto rollout = *(*reopened)->FindRollout(*id);
  ASSERT_TRUE(rollout);
  EXPECT_EQ(rollout->spec.waves, r.spec.waves);
  EXPECT_EQ(rollout->spec.selector.labels, r.spec.selector.labels);
  EXPECT_EQ(rollout->spec.max_retries, 2u);
  EXPECT_EQ(rollout->spec.wait_between_waves.count(), 60);
  EXPECT_EQ(rollout->wave_ends, (std::vector<uint32_t>{1, 2}));
  auto members = *(*reopened)->Members(*id);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].member.machine_id, "m2");
  EXPECT_EQ(members[0].member.state, MemberState::kSucceeded);
  EXPECT_EQ(members[0].member.attempts, 1u);
  EXPECT_TRUE(members[0].member.finished_at.has_value());
  EXPECT_EQ(members[0].previous_version, "0.9");
  EXPECT_EQ(members[1].member.state, MemberState::kPending);
  auto history = *(*reopened)->Attempts("m2");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].state, MemberState::kSucceeded);
  ASSERT_EQ(history[0].events.size(), 3u);
  EXPECT_EQ(history[0].events[1].bytes_done, 50u);

  // A failure carries its error text to the attempt.
  auto second = (*reopened)->StartAttempt(*id, "m1", JobKind::kInstall, "1.0", "");
  ASSERT_TRUE(second);
  ASSERT_TRUE((*reopened)->AddEvents(
      second->id, {{1, "write-image", StepStatus::kFailed, 0, 0, "disk full", "t"}}));
  auto failed = *(*reopened)->FindAttempt(second->id);
  EXPECT_EQ(failed->state, MemberState::kFailed);
  EXPECT_EQ(failed->error, "disk full");
  EXPECT_EQ((*(*reopened)->Members(*id))[1].member.state, MemberState::kFailed);
  EXPECT_EQ((*reopened)->AddEvents(999, {}).error().code, ErrorCode::kNotFound);

  // A report's events count as if applied one after another: the last one's state and error
  // stand, and a final one before it has still finished the attempt.
  auto third = (*reopened)->StartAttempt(*id, "m1", JobKind::kInstall, "1.0", "");
  ASSERT_TRUE(third);
  ASSERT_TRUE((*reopened)->AddEvents(
      third->id, {{1, "write-image", StepStatus::kFailed, 0, 0, "disk full", "t"},
                  {2, "cleanup", StepStatus::kStarted, 0, 0, "", "t"}}));
  auto after_both = *(*reopened)->FindAttempt(third->id);
  EXPECT_EQ(after_both->state, MemberState::kRunning);
  EXPECT_EQ(after_both->error, "");
  EXPECT_FALSE(after_both->finished_at.empty());
  EXPECT_EQ(after_both->events.size(), 2u);
  EXPECT_EQ((*(*reopened)->Members(*id))[1].member.state, MemberState::kRunning);

  ASSERT_TRUE((*reopened)->SetRolloutState(*id, RolloutState::kAborted, "by test"));
  EXPECT_FALSE(*(*reopened)->OpenRolloutOf("m1"));
  auto summary = *(*reopened)->Summary();
  EXPECT_EQ(summary.machines, 2u);
  EXPECT_EQ(summary.active_rollouts, 0u);
}

// The file of a controller from before rollouts carried jobs (schema version `version`), with an
// image, a machine, a rollout, its member, an attempt and an event.
void WriteStoreBeforeJobs(const std::string& path, size_t version) {
  auto migrations = FleetMigrations(kSqliteDialect);
  migrations.resize(version);
  auto session = OpenSqliteFile(path, migrations);
  using Poco::Data::Keywords::now;
  for (const char* sql :
       {"INSERT INTO images(version, sha256, size, name, description, architecture, boot_index, "
        "file_count, has_winload_efi, has_winload_exe, has_boot_sdi, blob_path, published_at) "
        "VALUES ('1.0', 'abc', 10, 'PE', '', 'x64', 1, 6, 1, 1, 1, '/b/abc', 't0')",
        "INSERT INTO machines(id, hostname, inventory, installed_version, state, current_step, "
        "last_seen, registered_at) VALUES ('m1', 'm1.corp', '', '1.0', 'idle', '', 't1', 't0')",
        "INSERT INTO rollouts(image_version, selector_all, selector_machines, waves, "
        "wait_seconds, max_in_progress, failure_threshold, max_retries, wave_ends, state, "
        "message, created_at, rollback_of, machine_deadline, allow_unsigned) VALUES ('1.0', 1, "
        "'', 'p:50,100', 60, 3, 25, 2, '1,1', 'completed', 'all done', 't0', 0, 3600, 1)",
        "INSERT INTO rollout_labels(rollout_id, key, value) VALUES (1, 'ring', 'lab')",
        "INSERT INTO rollout_members(rollout_id, machine_id, position, state, attempts, "
        "finished_at, previous_version, last_attempt_id) VALUES (1, 'm1', 0, 'succeeded', 1, "
        "'t1', '0.9', 1)",
        "INSERT INTO attempts(rollout_id, machine_id, image_version, state, started_at, "
        "finished_at, error, max_sequence) VALUES (1, 'm1', '1.0', 'succeeded', 't0', 't1', '', "
        "1)",
        "INSERT INTO step_events(attempt_id, sequence, step, status, bytes_done, bytes_total, "
        "message, at) VALUES (1, 1, 'done', 'succeeded', 0, 0, '', 't1')"})
    *session << sql, now;
}

TEST(FleetStoreMigration, RolloutsFromBeforeJobsKeepEveryFieldAndReference) {
  TempDir dir;
  const std::string path = dir / "fleet.db";
  // The migration that rebuilt `rollouts`: the last one before it is the old schema.
  const auto migrations = FleetMigrations(kSqliteDialect);
  size_t rebuild = 0;
  while (rebuild < migrations.size() &&
         migrations[rebuild].find("rollouts_rebuilt") == std::string::npos)
    ++rebuild;
  ASSERT_LT(rebuild, migrations.size());
  ASSERT_NO_THROW(WriteStoreBeforeJobs(path, rebuild));

  auto store = FleetStore::OpenSqlite(path);
  ASSERT_TRUE(store) << store.error().message;
  auto rollout = (*store)->FindRollout(1);
  ASSERT_TRUE(rollout && *rollout);
  const RolloutRecord& r = **rollout;
  EXPECT_EQ(r.spec.job, RolloutJob{});
  EXPECT_EQ(r.spec.image_version, "1.0");
  EXPECT_EQ(r.spec.selector.labels, (std::map<std::string, std::string>{{"ring", "lab"}}));
  EXPECT_EQ(r.spec.waves, (std::vector<WaveSpec>{{true, 50}, {true, 100}}));
  EXPECT_EQ(r.spec.wait_between_waves, std::chrono::seconds(60));
  EXPECT_EQ(r.spec.max_in_progress, 3u);
  EXPECT_EQ(r.spec.failure_threshold_percent, 25u);
  EXPECT_EQ(r.spec.max_retries, 2u);
  EXPECT_EQ(r.spec.machine_deadline, std::chrono::seconds(3600));
  EXPECT_TRUE(r.spec.allow_unsigned);
  EXPECT_EQ(r.state, RolloutState::kCompleted);
  EXPECT_EQ(r.message, "all done");
  auto members = (*store)->Members(1);
  ASSERT_TRUE(members);
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].previous_version, "0.9");
  auto attempts = (*store)->Attempts("m1");
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].job, JobKind::kInstall);
  EXPECT_EQ((*attempts)[0].events.size(), 1u);
  // A job rollout (no image) is taken now, and the next id follows the old ones.
  RolloutRecord grow;
  grow.spec.selector.machine_ids = {"m1"};
  grow.spec.job = {JobKind::kWinReGrow, 250'000'000, 0, "none"};
  grow.wave_ends = {1};
  auto id = (*store)->CreateRollout(grow, {"m1"});
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, 2u);
  EXPECT_EQ((*(*store)->FindRollout(2))->spec.job, grow.spec.job);
  store->reset();

  // SQLite itself (its own tool) finds every reference whole and still enforced, both ways.
  auto sql = [&](const std::string& statement) {
    return test::Sh("sqlite3 " + test::Quote(path) + " " + test::Quote(statement));
  };
  EXPECT_EQ(sql("PRAGMA foreign_key_check").out, "");
  EXPECT_NE(sql("PRAGMA foreign_key_list(rollouts)").out.find("|images|image_version|version|"),
            std::string::npos);
  EXPECT_NE(sql("PRAGMA foreign_key_list(rollout_members)").out.find("|rollouts|rollout_id|id|"),
            std::string::npos);
  EXPECT_NE(
      sql("PRAGMA foreign_keys = ON; INSERT INTO rollout_labels VALUES (9, 'k', 'v')").exit_code,
      0);
  EXPECT_NE(sql("PRAGMA foreign_keys = ON; UPDATE rollouts SET image_version = '7.7' WHERE id = 1")
                .exit_code,
            0);
}

}  // namespace
}  // namespace lifeboat::controller
