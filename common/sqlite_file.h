// Opening the SQLite files Lifeboat keeps through Poco::Data (the agent's journal, the controller's
// fleet store) the one way both need: WAL with synchronous=FULL (a committed step survives a power
// cut), foreign keys on, a busy timeout (another process may hold the file a moment), and the
// schema brought up to date by numbered migrations recorded in PRAGMA user_version.
#pragma once

#include <Poco/Data/DataException.h>
#include <Poco/Data/Session.h>

#include <memory>
#include <string>
#include <vector>

namespace lifeboat {

// The file is not an SQLite database, or SQLite's quick_check finds it damaged. The message says
// what SQLite found; the stores add the file and what to do.
POCO_DECLARE_EXCEPTION(, DamagedSqliteFile, Poco::Data::DataException)

// SQLite's quick_check of the file through a connection of its own (nothing cached): "ok", or
// what is wrong (the first few problems). Throws DamagedSqliteFile when it is not a database.
[[nodiscard]] std::string QuickCheckSqliteFile(const std::string& path);

// Before any migration the file is checked (quick_check): a damaged one throws DamagedSqliteFile
// rather than being used until a call touches its bad pages.
// `migrations[i]` takes the schema from version i to i + 1 (semicolon-separated statements, no
// semicolon inside one), each in its own transaction. Append; never edit a released one.
// Throws Poco::Exception; the stores turn it into their own error.
[[nodiscard]] std::unique_ptr<Poco::Data::Session> OpenSqliteFile(
    const std::string& path, const std::vector<std::string>& migrations);

}  // namespace lifeboat
