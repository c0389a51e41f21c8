// Windows' own recovery partition (WinRE), made larger offline: the KB5034441 problem. Windows'
// WinRE update needs 250 MB free in that partition, and Microsoft's answer to "too small" is a
// manual procedure (disable WinRE, shrink the OS volume, delete and recreate the recovery
// partition, re-enable). Lifeboat does it with the steps it already journals for `disk prepare`:
// WinRE grows into free space right behind it when there is enough; else Windows' NTFS volume
// shrinks, WinRE moves down into the space freed (its bytes copied resumably, its GUID, type and
// attributes kept) and grows at its end, its NTFS volume filling it (ntfsresize; no file moves).
// The planner is a pure function, like partition/planner.h.
#pragma once

#include <expected>
#include <optional>

#include "partition/disk_model.h"
#include "partition/plan.h"
#include "partition/planner.h"

namespace lifeboat::partition {

// What Windows' WinRE update asks for (KB5034441): 250 MB free in the WinRE partition.
inline constexpr Bytes kWinReUpdateFree{250ULL * 1000 * 1000};

struct WinReGrowPolicy {
  std::optional<Bytes> free;  // WinRE's volume has at least this much free afterwards, or
  std::optional<Bytes> size;  // WinRE's partition is at least this large afterwards
  // Free space the Windows volume keeps beyond ntfsresize's minimum when it shrinks. nullopt:
  // DefaultShrinkMargin of the volume.
  std::optional<Bytes> shrink_margin;
  Bytes alignment = kMiB;
};

// WinRE as `winre show` reports it. Pure.
struct WinReSummary {
  const Partition* winre = nullptr;  // into the model; null: the disk has none
  bool follows_windows = false;      // directly behind the Windows partition
  Sectors room_behind;               // unallocated space directly behind it
  std::optional<Bytes> free;         // its volume's free space, when looked inside
  std::optional<Bytes> missing;      // how much it lacks of kWinReUpdateFree (0: none)
};
[[nodiscard]] WinReSummary SummarizeWinRe(const DiskModel& disk);

// The plan (goal kGrowWinRe) that makes WinRE as large as the policy asks, or a refusal: no
// WinRE, WinRE not NTFS or not inspected or marked for chkdsk, a logical (MBR extended) WinRE,
// WinRE neither followed by enough free space nor directly behind Windows, Windows encrypted or
// without the room, BitLocker protection on, sizes beyond the disk, an unsafe table. A WinRE that
// is large enough already gives a plan with nothing to do.
[[nodiscard]] std::expected<Plan, Refusal> MakeWinReGrowPlan(const DiskModel& disk,
                                                             const WinReGrowPolicy& policy);

}  // namespace lifeboat::partition
