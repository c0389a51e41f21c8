// Executes a plan on a disk, step by step, through a journal.
//
// Crash contract: each step is recorded as started before it acts and as done after its result is
// verified and flushed. Every step is idempotent: it first looks at the disk and skips what is
// already true, so re-running a started step after a crash finishes it. The partition move copies
// in chunks no larger than the distance moved and records progress after each flushed chunk, so a
// resumed copy never reads a source byte it has overwritten. The partition table changes only
// after the data is in place. ntfsresize itself is not safe against power loss (no tool is): it is
// given the disk lock and a session of its own, so an agent killed while it runs (alone or with
// its process group) leaves it to finish, and the next run waits. The journal records the moment
// the real ntfsresize is launched: if it is cut short after marking the volume for chkdsk (its
// first act), the resumed run accepts that one flag and shrinks again; a flag set by anyone else
// is refused. A power cut in the middle of its changes can leave the volume inconsistent: that is
// reported (chkdsk in Windows, then run again), with the partition table still unchanged.
#pragma once

#include <functional>
#include <string>

#include "common/error.h"
#include "common/step_event.h"
#include "partition/disk_handle.h"
#include "partition/journal.h"
#include "partition/plan.h"
#include "partition/table_backup.h"

namespace lifeboat::partition {

struct ExecuteOptions {
  // Progress lines for a person ("step 3/6: move partition 4 ... 45%").
  std::function<void(const std::string&)> report;
  // Called at each point a crash test may stop the run: "<step index>:before",
  // "<step index>:after", "<step index>:chunk:<n>" (the move's copy, after chunk n is recorded) or
  // "<step index>:launched" (the shrink, with the launch of the real ntfsresize recorded and the
  // tool not yet started). The agent's fault injection (agent/test_points.h) kills or holds the
  // process there.
  std::function<void(const std::string&)> at_point;
  // Each step as it starts, succeeds (message: what it did) or fails (message: why), named by its
  // kind ("shrink-ntfs", "move-partition", ...), for `--events`. Steps done earlier are not told.
  std::function<void(const StepEvent&)> event;
  // Carries out a RetargetWinReStep (idempotent: what names WinRE's new place already is left
  // alone) and says what it changed. Without it such a step fails (kUnsupported). `progress` is
  // what the step recorded in an earlier attempt, `record` records more (durably), so that the
  // hook knows a store write of its own may have been cut short.
  std::function<Result<std::string>(const RetargetWinReStep&, uint64_t progress,
                                    const std::function<Result<void>(uint64_t)>& record)>
      retarget_winre;
  // The table journal run N saved before it changed anything, for a RestoreTableStep. Without it
  // such a step fails (kUnsupported).
  std::function<Result<TableBackup>(int64_t run)> table_backup;
};

// The disk must be open exclusively. Returns what the run did, one line per step.
[[nodiscard]] Result<std::vector<std::string>> ExecutePlan(const Plan& plan, const DiskHandle& disk,
                                                           Journal& journal,
                                                           const ExecuteOptions& options);

// Checks that the disk now has the layout the plan promises. Read-only.
[[nodiscard]] Result<void> VerifyPlanResult(const Plan& plan, const DiskHandle& disk);

}  // namespace lifeboat::partition
