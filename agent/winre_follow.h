// After the disk engine moved WinRE (winre grow), what names WinRE by its place
// follows it (partition::RetargetWinReStep):
// - Windows' \Windows\System32\Recovery\ReAgent.xml, which reagentc keeps and Windows' updates
//   read: its <WinreLocation path="\Recovery\WindowsRE" id="0" offset="1048576" guid="{disk}"/>
//   (and any other element naming WinRE's old place, such as an ImageLocation) gets the new byte
//   offset. The guid attribute is the GPT disk's GUID (all zeros on MBR disks); elements of other
//   disks are left alone. Every other byte of the file stays as it was.
// - MBR disks: the BCD store's device elements naming WinRE's old offset (Windows' recovery
//   entry and its RAM disk options) name the new one. GPT stores name partitions by GUIDs, which
//   do not change.
// Idempotent: what names the new place already is left alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/journal_store.h"
#include "common/error.h"
#include "partition/disk_handle.h"
#include "partition/plan.h"

namespace lifeboat::agent {

// Where Windows keeps ReAgent.xml on its volume.
inline constexpr const char* kReAgentXml = "\\Windows\\System32\\Recovery\\ReAgent.xml";

// `xml` (ReAgent.xml's bytes: UTF-8, or UTF-16 with its byte-order mark, as ASCII text) with
// each element whose offset attribute is `from` and whose guid attribute (if any) is the disk's
// (`gpt_disk_guid`; empty for MBR disks: all zeros) changed to `to`. Nothing when no element
// names `from`. Errors: kUnsupported (UTF-16 text beyond ASCII). Pure.
[[nodiscard]] Result<std::optional<std::string>> RetargetReAgentXml(
    const std::string& xml, const std::string& gpt_disk_guid, uint64_t from, uint64_t to);

// Step progress of a retarget: the BCD store's bytes are in the journal (its newest backup of
// the disk) and the store may be being replaced.
inline constexpr uint64_t kRetargetStoreBackedUp = 1;

// Carries out the step on the disk (open exclusively by the caller); the BCD store's bytes are
// saved in the journal before it is replaced, and `record(kRetargetStoreBackedUp)` says so. A
// store an earlier attempt left unreadable (`progress` says it had backed it up) is put back
// from that copy first. Says what it changed.
[[nodiscard]] Result<std::string> FollowMovedWinRe(
    const partition::DiskHandle& disk, const partition::RetargetWinReStep& step,
    JournalStore& journal, uint64_t progress, const std::function<Result<void>(uint64_t)>& record);

}  // namespace lifeboat::agent
