// Opening the SQLite files Lifeboat keeps through Poco::Data (the agent's journal, the controller's
// fleet store) the one way both need: WAL with synchronous=FULL (a committed step survives a power
// cut), foreign keys on, a busy timeout (another process may hold the file a moment), and the
// schema brought up to date by numbered migrations recorded in PRAGMA user_version.
#pragma once

#include <Poco/Data/Session.h>

#include <memory>
#include <string>
#include <vector>

namespace lifeboat {

// `migrations[i]` takes the schema from version i to i + 1 (semicolon-separated statements, no
// semicolon inside one), each in its own transaction. Append; never edit a released one.
// Throws Poco::Exception; the stores turn it into their own error.
[[nodiscard]] std::unique_ptr<Poco::Data::Session> OpenSqliteFile(
    const std::string& path, const std::vector<std::string>& migrations);

}  // namespace lifeboat
