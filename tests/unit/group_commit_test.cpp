// Group commit on a real SQLite file: concurrent writers share transactions, a failing writer is
// undone alone, and SQLite's own tool finds exactly what the callers were told was committed.
#include "controller/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "controller/store_session.h"
#include "tests/support/sqlite_cli.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using namespace Poco::Data::Keywords;
using test::TempDir;

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "store.db";
    session_ = std::make_unique<StoreSession>(
        OpenSqliteFile(path_,
                       {"CREATE TABLE rows(k INTEGER PRIMARY KEY, writer INTEGER NOT NULL)"}),
        kSqliteDialect, path_);
    group_ = std::make_unique<GroupCommit>(*session_);
  }
  // Writer `w`'s rows k, k + 1, ... (`n` of them), then a throw if `fail`.
  Result<void> Write(int w, int k, int n, bool fail = false) {
    return group_->Run("write rows", [&, w, k, n, fail] {
      for (int i = 0; i < n; ++i) {
        int key = k + i, writer = w;
        *session_->session << "INSERT INTO rows(k, writer) VALUES (?, ?)", use(key), use(writer),
            now;
      }
      if (fail) throw Poco::DataException("writer " + std::to_string(w) + " gave up");
    });
  }
  std::string Sqlite(const std::string& statement) { return test::SqliteOutput(path_, statement); }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<StoreSession> session_;
  std::unique_ptr<GroupCommit> group_;
};

TEST_F(GroupCommitTest, ConcurrentWritersShareCommitsAndAreAllCommittedWhenTold) {
  constexpr int kWriters = 8, kCallsEach = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int c = 0; c < kCallsEach; ++c)
        if (!Write(w, (w * kCallsEach + c) * 2, 2)) ++failures;
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Sqlite("SELECT count(*), count(DISTINCT writer) FROM rows"), "800|8\n");
  // Every call waited for its commit, and calls that came together shared one.
  EXPECT_LT(group_->commits(), static_cast<uint64_t>(kWriters * kCallsEach));
  EXPECT_GT(group_->commits(), 0u);
}

TEST_F(GroupCommitTest, AFailingCallIsUndoneAloneWithTheErrorItThrew) {
  ASSERT_TRUE(Write(1, 0, 3));
  auto failed = Write(2, 10, 3, /*fail=*/true);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kDatabase);
  EXPECT_NE(failed.error().message.find("write rows"), std::string::npos) << failed.error().message;
  EXPECT_NE(failed.error().message.find("writer 2 gave up"), std::string::npos);
  // A key already taken: SQLite refuses the statement, and only that call is undone.
  auto taken = Write(3, 20, 1);
  ASSERT_TRUE(taken);
  auto duplicate = Write(4, 19, 2);  // 19 is free, 20 is not
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().message.find("UNIQUE"), std::string::npos)
      << duplicate.error().message;
  // Many at once, every third failing: the others are all there, the failed ones not at all.
  std::vector<std::thread> writers;
  std::atomic<int> wrong{0};
  for (int w = 10; w < 40; ++w) {
    writers.emplace_back([&, w] {
      const bool fail = w % 3 == 0;
      if (Write(w, w * 100, 5, fail).has_value() == fail) ++wrong;
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(Sqlite("SELECT writer, count(*) FROM rows WHERE writer < 10 GROUP BY writer"),
            "1|3\n3|1\n");
  EXPECT_EQ(Sqlite("SELECT count(*) FROM rows WHERE writer >= 10 AND writer % 3 = 0"), "0\n");
  EXPECT_EQ(Sqlite("SELECT count(*) FROM rows WHERE writer >= 10"), "100\n");  // 20 writers x 5
}

}  // namespace
}  // namespace lifeboat::controller
