#include "controller/prepared_statements.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

namespace lifeboat::controller {

namespace {

[[noreturn]] void Throw(sqlite3* db, const std::string& sql) {
  throw Poco::Data::DataException(std::string(sqlite3_errmsg(db)) + " (in: " + sql + ")");
}

// Unbinds and rewinds the statement whatever happens to the run, so that the next run starts
// clean and no read transaction is left open by a statement stopped halfway.
struct Rewind {
  sqlite3_stmt* statement;
  ~Rewind() {
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
  }
};

}  // namespace

PreparedStatements::PreparedStatements(Poco::Data::Session& session)
    : db_(Poco::Data::SQLite::Utility::dbHandle(session)) {}

PreparedStatements::~PreparedStatements() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
}

sqlite3_stmt* PreparedStatements::Prepared(const std::string& sql) {
  if (auto found = statements_.find(sql); found != statements_.end()) return found->second;
  sqlite3_stmt* statement = nullptr;
  // PERSISTENT: kept for the life of the store, as SQLite's allocator is told.
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()) + 1,
                         SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK ||
      statement == nullptr) {
    sqlite3_finalize(statement);
    Throw(db_, sql);
  }
  statements_.emplace(sql, statement);
  return statement;
}

std::vector<PreparedStatements::Row> PreparedStatements::Run(const std::string& sql,
                                                             const std::vector<Value>& params) {
  sqlite3_stmt* statement = Prepared(sql);
  Rewind rewind{statement};
  if (static_cast<size_t>(sqlite3_bind_parameter_count(statement)) != params.size())
    throw Poco::Data::DataException(
        "the statement takes " + std::to_string(sqlite3_bind_parameter_count(statement)) +
        " parameters, not " + std::to_string(params.size()) + " (in: " + sql + ")");
  for (size_t i = 0; i < params.size(); ++i) {
    const int at = static_cast<int>(i) + 1;
    const int rc =
        std::holds_alternative<int64_t>(params[i])
            ? sqlite3_bind_int64(statement, at, std::get<int64_t>(params[i]))
            : sqlite3_bind_text(statement, at, std::get<std::string>(params[i]).data(),
                                static_cast<int>(std::get<std::string>(params[i]).size()),
                                SQLITE_STATIC);  // `params` outlives the run
    if (rc != SQLITE_OK) Throw(db_, sql);
  }
  std::vector<Row> rows;
  for (;;) {
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return rows;
    if (rc != SQLITE_ROW) Throw(db_, sql);
    Row& row = rows.emplace_back();
    for (int c = 0; c < sqlite3_column_count(statement); ++c) {
      if (sqlite3_column_type(statement, c) == SQLITE_INTEGER) {
        row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, c)));
      } else {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
        row.emplace_back(
            std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(statement, c))));
      }
    }
  }
}

int64_t PreparedStatements::Int(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  throw Poco::Data::DataException("an integer column holds the text '" +
                                  std::get<std::string>(value) + "'");
}

const std::string& PreparedStatements::Text(const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  throw Poco::Data::DataException("a text column holds the integer " +
                                  std::to_string(std::get<int64_t>(value)));
}

}  // namespace lifeboat::controller
