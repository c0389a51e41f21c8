#include "common/sqlite_file.h"

#include <Poco/Data/SQLite/Connector.h>

namespace lifeboat {

std::unique_ptr<Poco::Data::Session> OpenSqliteFile(const std::string& path,
                                                    const std::vector<std::string>& migrations) {
  using Poco::Data::Keywords::into;
  using Poco::Data::Keywords::now;
  Poco::Data::SQLite::Connector::registerConnector();
  auto session = std::make_unique<Poco::Data::Session>("SQLite", path);
  *session << "PRAGMA journal_mode = WAL", now;
  *session << "PRAGMA synchronous = FULL", now;
  *session << "PRAGMA foreign_keys = ON", now;
  *session << "PRAGMA busy_timeout = 10000", now;
  int version = 0;
  *session << "PRAGMA user_version", into(version), now;
  for (; version < static_cast<int>(migrations.size()); ++version) {
    session->begin();
    // Poco runs one statement per call: split the migration at its semicolons.
    const std::string& migration = migrations[static_cast<size_t>(version)];
    size_t begin = 0;
    while (begin < migration.size()) {
      size_t end = migration.find(';', begin);
      if (end == std::string::npos) end = migration.size();
      const std::string statement = migration.substr(begin, end - begin);
      if (statement.find_first_not_of(" \n\t") != std::string::npos) *session << statement, now;
      begin = end + 1;
    }
    *session << ("PRAGMA user_version = " + std::to_string(version + 1)), now;
    session->commit();
  }
  return session;
}

}  // namespace lifeboat
