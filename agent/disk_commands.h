// The `disk` commands of lifeboat-agent: show, plan, prepare. Each returns the process exit code
// (see docs/cli.md) and writes its result to stdout, errors to stderr (or both as JSON).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/exit_codes.h"
#include "agent/journal_store.h"
#include "common/step_event.h"
#include "common/units.h"
#include "partition/disk_handle.h"
#include "partition/planner.h"

namespace lifeboat::agent {

struct DiskOptions {
  std::string disk;
  bool json = false;
  std::optional<Bytes> size;        // default: DefaultRecoverySize(image_size); winre grow: WinRE's
  std::optional<Bytes> free;        // winre grow: the free space WinRE's volume should have
  std::optional<Bytes> image_size;  // size of the image the partition must hold twice
  std::optional<Bytes> shrink_margin;
  bool allow_gpt_repair = false;
  bool dry_run = false;
  std::string state_dir = "/var/lib/lifeboat";
  std::string journal_mirror;  // --journal-mirror SOCKET (agent/journal_mirror.h), or none
  int lock_wait_seconds = 600;
  bool events = false;  // --events: each step's events on stderr (agent/step_event.h)
};

// The journal in options.state_dir, kept safe through options.journal_mirror when one is given.
[[nodiscard]] Result<std::unique_ptr<JournalStore>> OpenJournal(const DiskOptions& options);

// Maps an error to the exit code documented in docs/cli.md.
int ExitFor(const Error& e);
// Prints the error (as JSON on stdout with --json, else on stderr) and returns its exit code.
int Report(const Error& e, bool json);
partition::PlanPolicy PolicyFrom(const DiskOptions& options);
// A planner refusal's exit code: 2 for a size no disk could take (invalid-policy), else 3.
int RefusalExit(const partition::Refusal& refusal);
// The refusal (`unfinished-run`) of a command that cannot go on while journal run `run`, which
// executed `plan`, is unfinished on `disk`: it names the command that finishes that run, then
// `then` ("apply", "remove", ...).
Error UnfinishedRunError(const std::string& disk, int64_t run, const partition::Plan& plan,
                         const std::string& then);
// Prints a planner refusal (JSON on stdout with --json, else on stderr) and returns its exit code.
int ReportRefusal(const partition::Refusal& refusal, const DiskOptions& options);
// The refusal as an error ("<reason>: <message>") whose code maps to RefusalExit.
Error RefusalError(const partition::Refusal& refusal);

struct PrepareOutcome {
  std::string result;  // prepared | resumed | unchanged
  partition::Plan plan;
  std::vector<std::string> lines;  // what each step did
  int64_t run = 0;                 // the journal run (0: unchanged); `disk restore --run` takes it
};

// A planner: the plan for a disk, or its refusal.
using Planner =
    std::function<std::expected<partition::Plan, partition::Refusal>(const partition::DiskModel&)>;

// Makes (or resumes from the journal) and executes the plan that gives `disk` a Lifeboat
// partition (or, with `planner`, what that plans). The disk must be open exclusively. A run left
// unfinished on the disk is resumed first, whatever it was for. A planner refusal is returned as
// a value: nothing was changed then.
[[nodiscard]] Result<std::variant<PrepareOutcome, partition::Refusal>> PrepareDisk(
    const DiskOptions& options, const partition::DiskHandle& disk,
    const partition::DiskModel& model, JournalStore& store,
    const std::function<void(const std::string&)>& say, const Planner& planner = {});
// Prints a plan for a person.
void PrintPlan(const partition::Plan& plan);

// Begins a journal run for a partition plan (which names its disk) and returns its id.
[[nodiscard]] Result<int64_t> BeginPartitionRun(const partition::Plan& plan, JournalStore& store);
// Executes a partition plan as journal run `run` (new or resumed) and finishes the run. With
// `events`, each step's start and end is printed on stderr as an event line.
[[nodiscard]] Result<std::vector<std::string>> RunPartitionPlan(
    const partition::Plan& plan, int64_t run, const partition::DiskHandle& disk,
    JournalStore& store, const std::function<void(const std::string&)>& say, bool events = false);
// Prints an event line on stderr, flushed at once: whoever follows the events reads them while
// the command runs.
void PrintEvent(const StepEvent& event);

int DiskShow(const DiskOptions& options);
int DiskPlan(const DiskOptions& options);
int DiskPrepare(const DiskOptions& options);

}  // namespace lifeboat::agent
