// Opening the SQLite files Lifeboat keeps through Poco::Data (the agent's journal, the controller's
// fleet store) the one way both need: WAL with synchronous=FULL (a committed step survives a power
// cut), foreign keys on, a busy timeout (another process may hold the file a moment), and the
// schema brought up to date by numbered migrations recorded in PRAGMA user_version.
#pragma once

#include <Poco/Data/DataException.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.h"

namespace lifeboat {

// The file is not an SQLite database, or SQLite's quick_check finds it damaged. The message says
// what SQLite found; the stores add the file and what to do.
POCO_DECLARE_EXCEPTION(, DamagedSqliteFile, Poco::Data::DataException)

// SQLite's quick_check of the file through a connection of its own (nothing cached): "ok", or
// what is wrong (the first few problems). Throws DamagedSqliteFile when it is not a database.
[[nodiscard]] std::string QuickCheckSqliteFile(const std::string& path);

// The file's folder is created if missing. Before any migration the file is checked (quick_check):
// a damaged one throws DamagedSqliteFile rather than being used until a call touches its bad pages.
// `migrations[i]` takes the schema from version i to i + 1 (semicolon-separated statements, no
// semicolon inside one), each in its own transaction. Append; never edit a released one. A
// migration that starts with kRebuildsTables runs with foreign keys off (SQLite's way to rebuild a
// table others refer to: create the new one, copy, drop the old, rename), and is refused, undone,
// if PRAGMA foreign_key_check then finds a reference without its row.
// Throws Poco::Exception; the stores turn it into their own error.
inline constexpr const char* kRebuildsTables = "-- rebuilds tables\n";
[[nodiscard]] std::unique_ptr<Poco::Data::Session> OpenSqliteFile(
    const std::string& path, const std::vector<std::string>& migrations);

// Runs one call of a store, turning what Poco::Data throws into an Error: kNotFound for a
// Poco::NotFoundException ("<what>: no <thing>"), else kDatabase ("<store>: <what>: <text>").
template <typename F>
auto GuardStore(const char* store, const char* what, F&& f) -> Result<decltype(f())> {
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      return {};
    } else {
      return f();
    }
  } catch (const Poco::NotFoundException& e) {
    return Fail(ErrorCode::kNotFound, std::string(what) + ": no " + e.message());
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kDatabase, std::string(store) + ": " + what + ": " + e.displayText());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kDatabase, std::string(store) + ": " + what + ": " + e.what());
  }
}

}  // namespace lifeboat
