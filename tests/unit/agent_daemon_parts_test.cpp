// The pieces of the agent's daemon and contacts that stand alone: the contact's report line and
// the daemon's schedule, step event lines, the inventory's JSON, the outbox in its SQLite file,
// and reading a child's standard error while it runs.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <vector>

#include "agent/contact/daemon_state.h"
#include "agent/daemon/contact_report.h"
#include "agent/daemon/daemon.h"
#include "agent/inventory.h"
#include "agent/step_event.h"
#include "common/process.h"
#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

TEST(ContactReport, RoundTripsAndAnythingElseIsNoReport) {
  for (const ContactReport& report :
       {ContactReport{true, 30}, ContactReport{true, 0}, ContactReport{false, 0}}) {
    auto parsed = ParseContactReport(FormatContactReport(report));
    ASSERT_TRUE(parsed) << FormatContactReport(report);
    EXPECT_EQ(parsed->reached, report.reached);
    EXPECT_EQ(parsed->next_contact_seconds, report.next_contact_seconds);
  }
  // The last line counts: a stray line before it does not hide the report.
  auto after_noise = ParseContactReport("something else\nreached 45\n");
  ASSERT_TRUE(after_noise);
  EXPECT_EQ(after_noise->next_contact_seconds, 45u);
  for (const char* bad : {"", "\n", "reached", "reached -1", "reached 30s", "reached 99999999999",
                          "Unreachable", "reached 30\nsegfault"})
    EXPECT_FALSE(ParseContactReport(bad)) << bad;
}

TEST(ContactSchedule, FollowsTheControllersPeriodWithJitterAndBacksOffWhileItIsAway) {
  ContactSchedule schedule(7);
  EXPECT_FALSE(schedule.registered());
  // Unreachable (or a contact that crashed): 1, 2, 4, ... up to 60 s, and still unregistered.
  std::vector<double> waits;
  for (int i = 0; i < 8; ++i)
    waits.push_back(schedule.After(i % 2 ? std::nullopt : std::optional(ContactReport{})));
  EXPECT_EQ(waits, (std::vector<double>{1, 2, 4, 8, 16, 32, 60, 60}));
  EXPECT_FALSE(schedule.registered());
  // Reached: registered, the period the controller asked for, within +-10 %, and not all equal.
  std::set<double> seen;
  for (int i = 0; i < 20; ++i) {
    const double wait = schedule.After(ContactReport{true, 120});
    EXPECT_GE(wait, 108);
    EXPECT_LE(wait, 132);
    seen.insert(wait);
  }
  EXPECT_TRUE(schedule.registered());
  EXPECT_GT(seen.size(), 10u);
  // A reply that names no period keeps the last one; the backoff starts again from 1 s.
  EXPECT_EQ(schedule.After(ContactReport{}), 1);
  EXPECT_GE(schedule.After(ContactReport{true, 0}), 108);
  EXPECT_EQ(schedule.period(), 120);
  EXPECT_EQ(schedule.After(std::nullopt), 1);
}

TEST(StepEventLine, RoundTripsAndKeepsTheMessageOnOneLine) {
  StepEvent e;
  e.step = "write-image";
  e.status = StepStatus::kProgress;
  e.bytes_done = 1048576;
  e.bytes_total = 524288000;
  e.message = "first line\nsecond line";
  const std::string line = EventLine(e);
  EXPECT_EQ(line, "lifeboat-event write-image progress 1048576 524288000 first line second line");
  auto back = ParseEventLine(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->step, "write-image");
  EXPECT_EQ(back->status, StepStatus::kProgress);
  EXPECT_EQ(back->bytes_done, 1048576u);
  EXPECT_EQ(back->bytes_total, 524288000u);
  EXPECT_EQ(back->message, "first line second line");
}

TEST(StepEventLine, OtherLinesAreNotEvents) {
  for (const char* line : {"prepare-partition: created partition 4", "lifeboat-event",
                           "lifeboat-event write-image finished 0 0 x",
                           "lifeboat-event write-image progress many 0", ""})
    EXPECT_FALSE(ParseEventLine(line)) << line;
  auto empty_message = ParseEventLine("lifeboat-event done succeeded 0 0 ");
  ASSERT_TRUE(empty_message);
  EXPECT_EQ(empty_message->message, "");
}

TEST(InventoryJson, RoundTripsEveryField) {
  Inventory in;
  in.hostname = "pc-17";
  in.firmware = "bios";
  in.installed_version = "2.1";
  in.winre_present = true;
  in.bitlocker_found = true;
  in.bitlocker_protection_on = true;
  in.agent_version = "0.3.0";
  in.disks.push_back({"/dev/sda", "0x1234abcd", "mbr", 64424509440ull, {}});
  in.disks[0].partitions.push_back({2, 1048576, 42949672960ull, "7", "windows", "bitlocker",
                                    BitLockerSummary{"on",
                                                     {"tpm", "recovery-password"},
                                                     "aes-128-xts",
                                                     "27d13a79-6e9e-4d52-bc85-92ed4fca93ed",
                                                     ""}});
  const std::string json = InventoryToJson(in);
  // The JSON shape of docs/json.md: numbers as numbers, the firmware as a word.
  EXPECT_NE(json.find("\"size_bytes\": 64424509440"), std::string::npos) << json;
  EXPECT_NE(json.find("\"firmware\": \"bios\""), std::string::npos) << json;
  auto out = InventoryFromJson(json);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->hostname, "pc-17");
  EXPECT_EQ(out->firmware, "bios");
  EXPECT_EQ(out->installed_version, "2.1");
  EXPECT_TRUE(out->winre_present);
  EXPECT_TRUE(out->bitlocker_found);
  ASSERT_EQ(out->disks.size(), 1u);
  EXPECT_EQ(out->disks[0].size_bytes, 64424509440ull);
  ASSERT_EQ(out->disks[0].partitions.size(), 1u);
  EXPECT_EQ(out->disks[0].partitions[0].start_bytes, 1048576u);
  EXPECT_EQ(out->disks[0].partitions[0].role, "windows");
  EXPECT_TRUE(out->bitlocker_protection_on);
  const auto& bitlocker = out->disks[0].partitions[0].bitlocker;
  ASSERT_TRUE(bitlocker);
  EXPECT_EQ(bitlocker->protection, "on");
  EXPECT_EQ(bitlocker->protectors, (std::vector<std::string>{"tpm", "recovery-password"}));
  EXPECT_EQ(bitlocker->encryption_method, "aes-128-xts");
  EXPECT_EQ(bitlocker->volume_id, "27d13a79-6e9e-4d52-bc85-92ed4fca93ed");
}

TEST(InventoryJson, GarbageIsAClearError) {
  auto out = InventoryFromJson("lifeboat-agent: no disk holds a Windows partition");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(out.error().message.find("inventory"), std::string::npos);
}

TEST(DaemonState, TheOutboxNumbersEventsPerAttemptAndSurvivesReopening) {
  TempDir dir;
  const std::string path = dir / "daemon.db";
  {
    auto state = DaemonState::Open(path);
    ASSERT_TRUE(state) << state.error().message;
    StepEvent e;
    e.step = "download";
    e.status = StepStatus::kStarted;
    for (uint64_t attempt : {7, 7, 9, 7}) {
      auto queued = (*state)->QueueEvent(attempt, e);
      ASSERT_TRUE(queued) << queued.error().message;
      EXPECT_FALSE(queued->at.empty());
    }
    ASSERT_TRUE((*state)->MarkSent(7, 2));
    ASSERT_TRUE((*state)->SetValue("machine_id", "pc-1"));
    ASSERT_TRUE((*state)->SetValue("machine_id", "pc-2"));
  }
  auto state = DaemonState::Open(path);
  ASSERT_TRUE(state);
  auto unsent = (*state)->UnsentEvents();
  ASSERT_TRUE(unsent);
  ASSERT_EQ(unsent->size(), 2u);
  EXPECT_EQ((*unsent)[0].first, 7u);
  ASSERT_EQ((*unsent)[0].second.size(), 1u);
  EXPECT_EQ((*unsent)[0].second[0].sequence, 3u);
  EXPECT_EQ((*unsent)[1].first, 9u);
  EXPECT_EQ((*unsent)[1].second[0].sequence, 1u);
  auto id = (*state)->GetValue("machine_id");
  ASSERT_TRUE(id && *id);
  EXPECT_EQ(**id, "pc-2");
  auto missing = (*state)->GetValue("finished:1");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  // Read back with the sqlite3 tool: WAL, and the rows are there.
  auto mode = Sh("sqlite3 " + Quote(path) + " 'PRAGMA journal_mode; SELECT COUNT(*) FROM outbox'");
  EXPECT_EQ(mode.out, "wal\n4\n");
}

TEST(DaemonState, AnUnwritableLocationIsAClearError) {
  auto state = DaemonState::Open("/proc/lifeboat/daemon.db");
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("/proc/lifeboat/daemon.db"), std::string::npos)
      << state.error().message;
}

TEST(RunProcess, HandsOverStandardErrorLinesWhileTheProgramRuns) {
  TempDir dir;
  const std::string flag = dir / "seen";
  // The program waits (up to 5 s) for the file the callback creates when it sees the first
  // line: it exits 0 only if the line was handed over while it was still running.
  const std::string script =
      "echo first >&2; printf 'second' >&2; echo ' half' >&2; "
      "for i in $(seq 50); do [ -e " +
      Quote(flag) + " ] && exit 0; sleep 0.1; done; exit 1";
  std::vector<std::string> lines;
  auto run = RunProcess({"sh", "-c", script}, {}, [&](const std::string& line) {
    lines.push_back(line);
    if (line == "first") Sh("touch " + Quote(flag));
  });
  ASSERT_TRUE(run);
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second half"}));
  EXPECT_EQ(run->err, "first\nsecond half\n");
}

}  // namespace
}  // namespace lifeboat::agent
