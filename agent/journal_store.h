// The agent's journal: an SQLite database (through Poco::Data, used only here) that records every
// run of a disk plan and every step of it, durably, before and after the step acts. WAL mode with
// synchronous=FULL: a call that returned survives a crash or power loss.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "partition/journal.h"

namespace Poco::Data {
class Session;
}

namespace lifeboat::agent {

struct RunRecord {
  int64_t id = 0;
  std::string disk_id;
  std::string disk_path;
  std::string plan_json;
  std::string state;    // running | failed | done
  std::string message;  // the last error, for a failed run
};

class JournalStore {
 public:
  // Opens or creates the database at `path`, creating its folder, and migrates its schema.
  [[nodiscard]] static Result<std::unique_ptr<JournalStore>> Open(const std::string& path);
  ~JournalStore();

  // The newest run on this disk that has not finished (running, or failed and to be resumed).
  [[nodiscard]] Result<std::optional<RunRecord>> UnfinishedRun(const std::string& disk_id);
  [[nodiscard]] Result<int64_t> BeginRun(
      const std::string& disk_id, const std::string& disk_path, const std::string& plan_json,
      const std::vector<std::pair<std::string, std::string>>& steps);
  [[nodiscard]] Result<void> FinishRun(int64_t run, bool ok, const std::string& message);
  // The Journal of one run, for the executor.
  [[nodiscard]] std::unique_ptr<partition::Journal> ForRun(int64_t run);
  // The table backup saved by a run (sfdisk dump), if any.
  [[nodiscard]] Result<std::optional<std::string>> TableDump(int64_t run);

 private:
  explicit JournalStore(std::unique_ptr<Poco::Data::Session> session);
  friend class RunJournal;
  std::unique_ptr<Poco::Data::Session> session_;
};

}  // namespace lifeboat::agent
