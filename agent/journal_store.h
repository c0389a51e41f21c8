// The agent's journal: an SQLite database (through Poco::Data, used only here) that records every
// run of a disk plan and every step of it, durably, before and after the step acts. WAL mode with
// synchronous=FULL: a call that returned survives a crash or power loss.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "partition/journal.h"
#include "partition/table_backup.h"

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

// One run of `apply` and the steps it reached.
struct ApplyRecord {
  int64_t id = 0;
  std::string version;
  std::string state;   // running | failed | done
  std::string result;  // installed | upgraded | unchanged (when done)
  std::string message;
  std::string created_at;
  std::vector<std::pair<std::string, std::string>> steps;  // name, started | done
  std::string plan_json;  // the plan it executed (empty for runs journalled before plans were)
};

// What `apply` last installed on a disk.
struct InstallRecord {
  std::string disk_id;
  std::string disk_path;
  std::string version;
  std::string image_sha256;
  uint64_t image_size = 0;
  std::string image_name;
  std::string wim_path;
  std::string firmware;
  std::string link;
  std::string installed_at;
};

class JournalStore {
 public:
  // Keeps a copy of the journal where a power cut cannot lose it. Given the path of a consistent
  // copy of the whole file, made after a write; returns once the copy is safe. A service visit,
  // whose journal lives in a RAM disk, keeps it with the controller (agent/journal_mirror.h).
  using Mirror = std::function<Result<void>(const std::string& copy_path)>;

  // Opens or creates the database at `path`, creating its folder, and migrates its schema. With a
  // `mirror`, every write is done only once the mirror has kept the journal as it is after it:
  // a write whose copy could not be kept fails, and the step it records does not go on.
  [[nodiscard]] static Result<std::unique_ptr<JournalStore>> Open(const std::string& path,
                                                                  Mirror mirror = {});
  ~JournalStore();

  // The newest run on this disk that has not finished (running, or failed and to be resumed).
  [[nodiscard]] Result<std::optional<RunRecord>> UnfinishedRun(const std::string& disk_id);
  [[nodiscard]] Result<int64_t> BeginRun(
      const std::string& disk_id, const std::string& disk_path, const std::string& plan_json,
      const std::vector<std::pair<std::string, std::string>>& steps);
  [[nodiscard]] Result<void> FinishRun(int64_t run, bool ok, const std::string& message);
  // The Journal of one run, for the executor.
  [[nodiscard]] std::unique_ptr<partition::Journal> ForRun(int64_t run);
  // Plans of every prepare run on this disk that finished, oldest first (for the partitions they
  // moved).
  [[nodiscard]] Result<std::vector<std::string>> CompletedPlans(const std::string& disk_id);

  // Apply runs: the plan is stored as the run begins; the steps are recorded by name as they
  // start and finish.
  [[nodiscard]] Result<int64_t> BeginApply(const std::string& disk_id, const std::string& disk_path,
                                           const std::string& version,
                                           const std::string& image_sha256,
                                           const std::string& plan_json);
  [[nodiscard]] Result<void> ApplyStepStarted(int64_t run, const std::string& name);
  [[nodiscard]] Result<void> ApplyStepDone(int64_t run, const std::string& name,
                                           const std::string& outcome);
  [[nodiscard]] Result<void> FinishApply(int64_t run, bool ok, const std::string& result,
                                         const std::string& message);
  [[nodiscard]] Result<std::optional<ApplyRecord>> LastApply(const std::string& disk_id);
  // The BCD store as it was before an edit; `run` 0 for edits outside apply (boot-once).
  [[nodiscard]] Result<void> SaveBcdBackup(int64_t run, const std::string& disk_id,
                                           const std::vector<uint8_t>& store);
  // The backup of an apply run that was killed while it edited the store, if there is one.
  [[nodiscard]] Result<std::optional<std::vector<uint8_t>>> InterruptedBcdBackup(
      const std::string& disk_id);
  // Every BCD backup of this disk, newest first (remove looks for the store before Lifeboat).
  [[nodiscard]] Result<std::vector<std::vector<uint8_t>>> BcdBackups(const std::string& disk_id);
  [[nodiscard]] Result<void> RecordInstall(const InstallRecord& record);
  // Lifeboat was removed from the disk: nothing is installed.
  [[nodiscard]] Result<void> ForgetInstall(const std::string& disk_id);
  [[nodiscard]] Result<std::optional<InstallRecord>> Install(const std::string& disk_id);

  // The table backup saved by a run (sfdisk dump), if any.
  [[nodiscard]] Result<std::optional<std::string>> TableDump(int64_t run);
  // The same backup's raw sectors, if any.
  [[nodiscard]] Result<std::optional<partition::TableBackup>> TableBackup(int64_t run);
  // A partition run, finished or not, if there is one with this id.
  [[nodiscard]] Result<std::optional<RunRecord>> Run(int64_t run);
  // Partition runs on this disk that finished after run `run`, oldest first.
  [[nodiscard]] Result<std::vector<int64_t>> FinishedRunsAfter(const std::string& disk_id,
                                                               int64_t run);

 private:
  JournalStore(std::unique_ptr<Poco::Data::Session> session, std::string path, Mirror mirror);
  friend class RunJournal;
  // Runs one write, then has the mirror keep the journal as it now is.
  template <typename F>
  auto Write(const char* what, F&& f) -> Result<decltype(f())>;
  [[nodiscard]] Result<void> KeepMirrored();

  std::unique_ptr<Poco::Data::Session> session_;
  const std::string path_;
  const Mirror mirror_;
};

}  // namespace lifeboat::agent
