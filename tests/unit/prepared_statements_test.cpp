// The store's prepared statements on a real SQLite file, read back with SQLite's own tool: rows
// come back typed, a statement is run again and again with new values, a refused one says why
// and leaves nothing behind, and the connection closes cleanly after them.
#include "controller/prepared_statements.h"

#include <Poco/Data/DataException.h>
#include <gtest/gtest.h>

#include "common/sqlite_file.h"
#include "tests/support/sqlite_cli.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using P = PreparedStatements;
using test::TempDir;

class PreparedStatementsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "store.db";
    session_ = OpenSqliteFile(path_, {"CREATE TABLE items(id INTEGER PRIMARY KEY, "
                                      "name TEXT NOT NULL UNIQUE, size INTEGER NOT NULL)"});
    sql_ = std::make_unique<PreparedStatements>(*session_);
  }
  std::string Sqlite(const std::string& statement) { return test::SqliteOutput(path_, statement); }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Poco::Data::Session> session_;
  std::unique_ptr<PreparedStatements> sql_;
};

TEST_F(PreparedStatementsTest, RunsOneStatementAgainWithNewValuesAndReturnsItsRows) {
  const std::string insert = "INSERT INTO items(name, size) VALUES (?, ?) RETURNING id, name";
  for (int64_t i = 1; i <= 50; ++i) {
    auto rows = sql_->Run(insert, {"item " + std::to_string(i), i * 10});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(P::Int(rows[0][0]), i);
    EXPECT_EQ(P::Text(rows[0][1]), "item " + std::to_string(i));
  }
  EXPECT_EQ(Sqlite("SELECT count(*), sum(size) FROM items"), "50|12750\n");

  auto big = sql_->Run("SELECT name, size FROM items WHERE size > ? ORDER BY size", {int64_t{480}});
  ASSERT_EQ(big.size(), 2u);
  EXPECT_EQ(P::Text(big[0][0]), "item 49");
  EXPECT_EQ(P::Int(big[1][1]), 500);
  EXPECT_TRUE(sql_->Run("SELECT name FROM items WHERE size < 0").empty());
  // Text with a NUL and quotes goes in and comes out whole.
  const std::string odd = std::string("it's \"odd\"") + '\0' + "tail";
  sql_->Run("UPDATE items SET name = ? WHERE id = ?", {odd, int64_t{1}});
  EXPECT_EQ(P::Text(sql_->Run("SELECT name FROM items WHERE id = 1")[0][0]), odd);
  // A column read as the wrong type is an error, not a guess.
  EXPECT_THROW(P::Int(big[0][0]), Poco::Data::DataException);
  EXPECT_THROW(P::Text(big[0][1]), Poco::Data::DataException);
}

TEST_F(PreparedStatementsTest, ARefusedStatementSaysWhyAndTheNextRunStartsClean) {
  const std::string insert = "INSERT INTO items(name, size) VALUES (?, ?)";
  sql_->Run(insert, {std::string("a"), int64_t{1}});
  try {
    sql_->Run(insert, {std::string("a"), int64_t{2}});
    FAIL() << "a duplicate name was taken";
  } catch (const Poco::Data::DataException& e) {
    EXPECT_NE(e.message().find("UNIQUE constraint failed: items.name"), std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find(insert), std::string::npos) << e.message();
  }
  sql_->Run(insert, {std::string("b"), int64_t{3}});
  EXPECT_EQ(Sqlite("SELECT name, size FROM items ORDER BY id"), "a|1\nb|3\n");

  EXPECT_THROW(sql_->Run(insert, {std::string("c")}), Poco::Data::DataException);  // one short
  EXPECT_THROW(sql_->Run("INSERT INTO nowhere VALUES (1)"), Poco::Data::DataException);
  EXPECT_EQ(Sqlite("SELECT count(*) FROM items"), "2\n");
}

TEST_F(PreparedStatementsTest, StatementsJoinTheSessionsTransactionAndCloseWithIt) {
  session_->begin();
  sql_->Run("INSERT INTO items(name, size) VALUES (?, ?)", {std::string("kept"), int64_t{1}});
  sql_->Run("SAVEPOINT one");
  sql_->Run("INSERT INTO items(name, size) VALUES (?, ?)", {std::string("undone"), int64_t{2}});
  sql_->Run("ROLLBACK TO one");
  sql_->Run("RELEASE one");
  EXPECT_EQ(Sqlite("SELECT count(*) FROM items"), "0\n");  // not committed yet
  session_->commit();
  EXPECT_EQ(Sqlite("SELECT name FROM items"), "kept\n");
  // Finalized first, the connection then closes and leaves no journal behind it.
  sql_.reset();
  session_->close();
  session_.reset();
  EXPECT_EQ(Sqlite("PRAGMA quick_check"), "ok\n");
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
}

}  // namespace
}  // namespace lifeboat::controller
