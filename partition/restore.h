// A disk prepare undone (`lifeboat-agent disk restore DISK --run N`): the partition table the
// journal saved before run N changed anything, back byte for byte, with every partition's bytes
// where that table has them. Pure, like partition/planner.h.
//
// Run N shrank Windows, perhaps moved WinRE down, and created Lifeboat's partition in the room.
// The restore deletes Lifeboat's partition, moves WinRE back up (what names it follows, as for
// winre grow), grows Windows' partition and NTFS volume back to their old size (ntfsresize; every
// file stays in place), and then writes the saved table's sectors over the table. That is safe
// only while the disk is as run N left it: the table must be exactly the one the run made
// (refused otherwise: table-changed), and what the restore gives away, Lifeboat's partition, must
// hold nothing (checked by the agent, which can look inside it and at the boot store).
#pragma once

#include <cstdint>
#include <expected>

#include "partition/disk_model.h"
#include "partition/plan.h"
#include "partition/planner.h"

namespace lifeboat::partition {

// `current`: the disk now; `original`: the table run `run_id` saved (ReadTableBackup); `run`: the
// plan it executed (goal kLifeboatPartition). A plan with nothing to do when the partitions are
// already where the saved table has them (the agent compares the table's bytes).
[[nodiscard]] std::expected<Plan, Refusal> MakeRestorePlan(const DiskModel& current,
                                                           const DiskModel& original,
                                                           const Plan& run, int64_t run_id);

}  // namespace lifeboat::partition
