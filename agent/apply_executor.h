// Runs an apply plan (agent/apply_plan.h), step by step, each between its journal records.
//
// Crash contract: every step is recorded in the journal before and after it acts and is
// idempotent against what the disk holds, so planning and running again after a kill converges.
// The order is mark, write, verify, activate: the new image goes into its own folder, is read
// back and hashed, gets its manifest, and only then does the boot entry switch to it; the
// previous version is removed after the switch. The BCD store is copied into the journal before
// it is replaced; a store left unreadable by a cut-short write is restored from that copy by the
// next run before it plans.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/apply_plan.h"
#include "agent/boot_store.h"
#include "agent/journal_store.h"
#include "agent/recovery_volume.h"
#include "agent/step_event.h"

namespace lifeboat::agent {

// The machine apply works on: the disk (partition plans), the files of Lifeboat's partition and
// the boot store. On a real disk: agent/apply_commands.cpp; tests can give other ones.
class ApplyTarget {
 public:
  virtual ~ApplyTarget() = default;
  // Runs (or resumes) the partition plan. Returns "prepared", "resumed" or "unchanged".
  [[nodiscard]] virtual Result<std::string> PreparePartition(const PreparePartitionStep& step) = 0;
  // Lifeboat's partition, once prepared: its number and its files.
  [[nodiscard]] virtual Result<uint32_t> LifeboatPartitionNumber() = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<RecoveryFiles>> OpenRecoveryFiles() = 0;
  // The boot store (its location may have been read again after the partition plan).
  [[nodiscard]] virtual Result<const BootStoreIo*> BootStore() = 0;
  // Makes everything written so far durable.
  [[nodiscard]] virtual Result<void> Flush() = 0;
};

struct ApplyHooks {
  std::function<void(const std::string&)> say = [](const std::string&) {};
  std::function<void(const StepEvent&)> event = [](const StepEvent&) {};
  // Fault injection for the crash tests ("apply:<step>:before" and so on); nothing by default.
  std::function<void(const std::string&)> crash_point = [](const std::string&) {};
};

struct ApplyOutcome {
  std::string partition_result;  // prepared | resumed | unchanged
  uint32_t partition_number = 0;
  std::vector<std::string> lines;  // "<step>: <what it did>"
};

// Runs `plan` as journal run `run`. `sdi` is the image's boot.sdi. Errors: the first step that
// failed, its journal records left for the next run.
[[nodiscard]] Result<ApplyOutcome> ExecuteApply(const ApplyPlan& plan, const ApplyRequest& request,
                                                const std::vector<uint8_t>& sdi,
                                                ApplyTarget& target, JournalStore& journal,
                                                int64_t run, const ApplyHooks& hooks);

}  // namespace lifeboat::agent
