// The journal on a real SQLite file: what one process records, the next one reads back.
#include "agent/journal_store.h"

#include <gtest/gtest.h>

#include "agent/journal_mirror.h"
#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

TEST(JournalStore, RecordsStepsDurablyAcrossReopen) {
  test::TempDir dir;
  const std::string db = dir / "state/journal.db";
  int64_t run = 0;
  {
    auto store = JournalStore::Open(db);
    ASSERT_TRUE(store.has_value()) << store.error().message;
    auto begun = (*store)->BeginRun("DISK-1", "/dev/sda", "{\"plan\":1}",
                                    {{"backup-table", "b"}, {"move-partition", "m"}});
    ASSERT_TRUE(begun.has_value()) << begun.error().message;
    run = *begun;
    auto journal = (*store)->ForRun(run);
    ASSERT_TRUE(journal->StepStarted(0).has_value());
    ASSERT_TRUE(journal->SaveTableBackup({1, 2, 3}, {4, 5}, "label: gpt\n").has_value());
    ASSERT_TRUE(journal->StepDone(0, "saved").has_value());
    ASSERT_TRUE(journal->StepStarted(1).has_value());
    ASSERT_TRUE(journal->StepProgress(1, 8 << 20).has_value());
  }
  auto store = JournalStore::Open(db);
  ASSERT_TRUE(store.has_value());
  auto unfinished = (*store)->UnfinishedRun("DISK-1");
  ASSERT_TRUE(unfinished.has_value() && unfinished->has_value());
  EXPECT_EQ((*unfinished)->id, run);
  EXPECT_EQ((*unfinished)->plan_json, "{\"plan\":1}");
  auto journal = (*store)->ForRun(run);
  auto s0 = journal->Step(0), s1 = journal->Step(1);
  ASSERT_TRUE(s0 && s1);
  EXPECT_TRUE(s0->done);
  EXPECT_TRUE(s1->started);
  EXPECT_FALSE(s1->done);
  EXPECT_EQ(s1->progress, 8u << 20);
  EXPECT_EQ((*store)->TableDump(run).value().value(), "label: gpt\n");
  EXPECT_FALSE((*store)->UnfinishedRun("OTHER-DISK").value().has_value());

  ASSERT_TRUE((*store)->FinishRun(run, true, "").has_value());
  EXPECT_FALSE((*store)->UnfinishedRun("DISK-1").value().has_value());
  // An independent reader sees the same rows.
  auto rows =
      test::Sh("sqlite3 " + test::Quote(db) +
               " \"SELECT state FROM runs; SELECT count(*) FROM steps WHERE state='done';\"");
  EXPECT_EQ(rows.out, "done\n1\n");
}

TEST(JournalStore, UnwritableLocationIsAClearError) {
  auto store = JournalStore::Open("/proc/lifeboat/journal.db");
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message.find("/proc/lifeboat"), std::string::npos)
      << store.error().message;
}

// With a mirror, each write is handed over as a whole, consistent copy of the journal (read here
// with the sqlite3 tool), and a write the mirror could not keep fails.
TEST(JournalStore, AMirrorGetsAWholeCopyAfterEveryWriteAndItsFailureFailsTheWrite) {
  test::TempDir dir;
  const std::string db = dir / "journal.db";
  std::vector<std::string> copies;  // the progress each copy shows
  bool refuse = false;
  auto store = JournalStore::Open(db, [&](const std::string& copy) -> Result<void> {
    if (refuse) return Fail(ErrorCode::kBusy, "the controller is away");
    EXPECT_EQ(copy, db + ".mirror");
    auto rows = test::Sh("sqlite3 " + test::Quote(copy) +
                         " \"SELECT COALESCE(MAX(progress), -1) FROM steps;\"");
    copies.push_back(rows.out);
    return {};
  });
  ASSERT_TRUE(store) << store.error().message;
  auto run = (*store)->BeginRun("DISK-1", "/dev/sda", "{}", {{"move-partition", "m"}});
  ASSERT_TRUE(run);
  auto journal = (*store)->ForRun(*run);
  ASSERT_TRUE(journal->StepStarted(0));
  ASSERT_TRUE(journal->StepProgress(0, 4096));
  EXPECT_EQ(copies, (std::vector<std::string>{"0\n", "0\n", "4096\n"}));
  // Reads are not copied.
  ASSERT_TRUE(journal->Step(0));
  ASSERT_TRUE((*store)->UnfinishedRun("DISK-1"));
  EXPECT_EQ(copies.size(), 3u);

  refuse = true;
  auto refused = journal->StepProgress(0, 8192);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kBusy);
  EXPECT_NE(
      refused.error().message.find("keep the journal " + db + " safe: the controller is away"),
      std::string::npos)
      << refused.error().message;
}

TEST(JournalStore, AMirrorNobodyListensToIsAClearErrorAndNoStepGoesOn) {
  test::TempDir dir;
  auto store = JournalStore::Open(dir / "journal.db", JournalMirrorAt(dir / "nobody.sock"));
  ASSERT_TRUE(store) << store.error().message;
  auto run = (*store)->BeginRun("DISK-1", "/dev/sda", "{}", {{"move-partition", "m"}});
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().message.find("the journal keeper at " + std::string(dir / "nobody.sock") +
                                     " does not answer"),
            std::string::npos)
      << run.error().message;
}

}  // namespace
}  // namespace lifeboat::agent
