#include "common/sqlite_file.h"

#include <Poco/Data/SQLite/Connector.h>

#include <filesystem>

namespace lifeboat {

POCO_IMPLEMENT_EXCEPTION(DamagedSqliteFile, Poco::Data::DataException, "Damaged SQLite file")

namespace {

std::string QuickCheck(Poco::Data::Session& session) {
  using Poco::Data::Keywords::into;
  using Poco::Data::Keywords::now;
  std::vector<std::string> rows;
  try {
    session << "PRAGMA quick_check(5)", into(rows), now;
  } catch (const Poco::Exception& e) {
    throw DamagedSqliteFile(e.displayText());
  }
  std::string text;
  for (const auto& row : rows) text += (text.empty() ? "" : "; ") + row;
  return text.empty() ? "no answer" : text;
}

}  // namespace

std::string QuickCheckSqliteFile(const std::string& path) {
  Poco::Data::SQLite::Connector::registerConnector();
  try {
    Poco::Data::Session session("SQLite", path);
    return QuickCheck(session);
  } catch (const DamagedSqliteFile&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw DamagedSqliteFile(e.displayText());
  }
}

std::unique_ptr<Poco::Data::Session> OpenSqliteFile(const std::string& path,
                                                    const std::vector<std::string>& migrations) {
  using Poco::Data::Keywords::into;
  using Poco::Data::Keywords::now;
  Poco::Data::SQLite::Connector::registerConnector();
  std::error_code ec;
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) throw Poco::CreateFileException("cannot create " + folder.string() + ": " + ec.message());
  auto session = std::make_unique<Poco::Data::Session>("SQLite", path);
  // A file that is not a database fails its first statement; one with damaged pages, only the
  // quick_check below (calls would fail later, each with "database disk image is malformed").
  try {
    *session << "PRAGMA journal_mode = WAL", now;
  } catch (const Poco::Exception& e) {
    throw DamagedSqliteFile(e.displayText());
  }
  if (const std::string check = QuickCheck(*session); check != "ok")
    throw DamagedSqliteFile("SQLite's quick_check found: " + check);
  *session << "PRAGMA synchronous = FULL", now;
  *session << "PRAGMA foreign_keys = ON", now;
  *session << "PRAGMA busy_timeout = 10000", now;
  int version = 0;
  *session << "PRAGMA user_version", into(version), now;
  for (; version < static_cast<int>(migrations.size()); ++version) {
    const std::string& migration = migrations[static_cast<size_t>(version)];
    // Inside a transaction the pragma does nothing: it is set before.
    const bool rebuild = migration.starts_with(kRebuildsTables);
    if (rebuild) *session << "PRAGMA foreign_keys = OFF", now;
    session->begin();
    // Poco runs one statement per call: split the migration at its semicolons.
    size_t begin = 0;
    while (begin < migration.size()) {
      size_t end = migration.find(';', begin);
      if (end == std::string::npos) end = migration.size();
      const std::string statement = migration.substr(begin, end - begin);
      if (statement.find_first_not_of(" \n\t") != std::string::npos) *session << statement, now;
      begin = end + 1;
    }
    if (rebuild) {
      std::vector<std::string> orphan_tables;
      *session << "SELECT \"table\" FROM pragma_foreign_key_check", into(orphan_tables), now;
      if (!orphan_tables.empty()) {
        session->rollback();
        *session << "PRAGMA foreign_keys = ON", now;
        throw Poco::DataException("migration " + std::to_string(version + 1) +
                                  " would leave rows of " + orphan_tables[0] +
                                  " referring to nothing");
      }
    }
    *session << ("PRAGMA user_version = " + std::to_string(version + 1)), now;
    session->commit();
    if (rebuild) *session << "PRAGMA foreign_keys = ON", now;
  }
  return session;
}

}  // namespace lifeboat
