// Checks that a disk model describes a table Lifeboat can safely plan against. A table with
// overlapping partitions, entries outside the disk or its usable area, zero-length entries,
// logical partitions outside their extended partition, a hybrid MBR beside a GPT, or a GPT that
// could not be read at all would make the planner's arithmetic meaningless (a move "down" to a
// wrapped-around sector), so every plan starts here. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "partition/disk_model.h"

namespace lifeboat::partition {

struct LayoutProblem {
  std::string rule;  // "overlap", "past-end", "outside-usable", "zero-length", ...
  std::string message;
};

// Everything wrong with the layout, in partition order; empty when it is sound.
[[nodiscard]] std::vector<LayoutProblem> CheckLayout(const DiskModel& disk);

// The problems as one sentence for a refusal: "<path>: the partition table is unsafe to change:
// ...; nothing was changed".
[[nodiscard]] std::string DescribeLayoutProblems(const DiskModel& disk,
                                                 const std::vector<LayoutProblem>& problems);

// The same as an error (kRefused, "unsafe-partition-table: ..."), for commands that change the
// disk outside the planner (the BCD editors).
[[nodiscard]] Result<void> RequireSafeLayout(const DiskModel& disk);

}  // namespace lifeboat::partition
