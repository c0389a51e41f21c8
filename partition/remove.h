// Lifeboat's partition taken away again (`lifeboat-agent remove`), and its room given back:
// to nobody (it stays unallocated), to Windows, or to WinRE. Pure, like partition/planner.h.
//
// Disk prepare leaves [Windows][WinRE][Lifeboat] (WinRE moved down in front of Lifeboat) or
// [Windows][Lifeboat] (no WinRE, or WinRE elsewhere). Giving the room to Windows moves a WinRE
// that sits between them up to the end of the freed room, which is where prepare found it, then
// grows Windows' partition and NTFS volume; giving it to WinRE grows WinRE's in place. Nothing
// else is ever moved: any other layout is refused for that choice.
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "partition/disk_model.h"
#include "partition/plan.h"
#include "partition/planner.h"

namespace lifeboat::partition {

enum class Reclaim { kNone, kWindows, kWinRe };
const char* ReclaimName(Reclaim reclaim);
std::optional<Reclaim> ParseReclaim(const std::string& name);

// A refusal when partition `p` (`what`: "Windows", "WinRE") cannot grow into freed room: a
// logical partition, BitLocker, not NTFS, not looked inside, marked for chkdsk, hibernated. Pure.
std::optional<Refusal> GrowableRefusal(const DiskModel& d, const Partition& p,
                                       const std::string& what);

// The plan (goal kRemoveLifeboat) that deletes Lifeboat's partition and gives its room back, a
// plan with nothing to do when the disk has no Lifeboat partition, or a refusal: an unsafe table,
// BitLocker protection on, a logical Lifeboat partition, a reclaim the layout does not allow (no
// Windows or WinRE directly in front of it), a volume that cannot be grown (not NTFS, not looked
// inside, marked for chkdsk, hibernated, encrypted).
[[nodiscard]] std::expected<Plan, Refusal> MakeRemovePlan(const DiskModel& disk, Reclaim reclaim,
                                                          Bytes alignment = kMiB);

}  // namespace lifeboat::partition
