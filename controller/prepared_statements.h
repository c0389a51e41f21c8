// SQLite statements prepared once and run many times, on the store's connection: for the writes
// a rollout makes hundreds of times a second in its busiest wave (an attempt started, a report's
// events stored). Poco::Data parses and plans a statement again on every execution; at 100,000
// machines SQLite's parser alone was 8 % of the controller's CPU in the last wave. Statements run
// inside the session's transactions (group_commit.h), with its mutex held. Included only by the
// stores' .cpp files; the only place the store calls SQLite's own API.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace Poco::Data {
class Session;
}

namespace lifeboat::controller {

class PreparedStatements {
 public:
  // A parameter or a column's value: an integer, or text (NULL reads as "").
  using Value = std::variant<int64_t, std::string>;
  using Row = std::vector<Value>;

  // `session` is SQLite's and outlives this.
  explicit PreparedStatements(Poco::Data::Session& session);
  ~PreparedStatements();  // finalizes every statement (SQLite closes no connection with any left)
  PreparedStatements(const PreparedStatements&) = delete;
  PreparedStatements& operator=(const PreparedStatements&) = delete;

  // Runs `sql` (prepared the first time it is seen) with `params` bound to its ?s in order, to
  // its end, and returns the rows it gave (a SELECT's, an INSERT ... RETURNING's). Throws
  // Poco::Data::DataException with SQLite's message and the statement, as Poco's own do.
  std::vector<Row> Run(const std::string& sql, const std::vector<Value>& params = {});

  // A column's value as the type the schema gives it; throws Poco::Data::DataException if not.
  static int64_t Int(const Value& value);
  static const std::string& Text(const Value& value);

 private:
  sqlite3_stmt* Prepared(const std::string& sql);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace lifeboat::controller
