// Lifeboat's boot entry in a BCD store: what it must contain, how it is linked, and how to find
// it again. Pure: it computes the objects that must change; store.h writes them.
//
// The entry is two objects with GUIDs that are stable for a disk (so an upgrade replaces them
// in place and never adds a duplicate): a device-options object naming the partition and path of
// boot.sdi, and a WinPE OS loader booting the WIM from a RAM disk. Their element set is the one
// Windows writes for its own WinRE entry (BCD-FORMAT.md §6).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bcd/device.h"
#include "bcd/guid.h"
#include "bcd/store.h"
#include "common/error.h"

namespace lifeboat::bcd {

enum class LinkPolicy {
  kToolsMenu,         // {bootmgr} toolsdisplayorder (default): a tool, like Memory Diagnostic
  kMainMenu,          // {bootmgr} displayorder: beside Windows in the boot menu
  kRecoverySequence,  // the default Windows loader's recoverysequence: replaces WinRE on failure
};
const char* LinkPolicyName(LinkPolicy policy);
std::optional<LinkPolicy> ParseLinkPolicy(const std::string& name);

struct EntrySpec {
  Guid loader;              // the WinPE OS-loader object
  Guid options;             // its device-options object
  PartitionRef partition;   // Lifeboat's recovery partition
  std::string wim_path;     // "\Recovery\Lifeboat\<version>\boot.wim"
  std::string sdi_path;     // "\Recovery\Lifeboat\<version>\boot.sdi"
  std::string winload;      // "\windows\system32\boot\winload.efi" (or .exe on BIOS)
  std::string description;  // shown in the boot menu
  LinkPolicy link = LinkPolicy::kToolsMenu;
};

// A partition the disk engine moved: on MBR disks the store names partitions by byte offset.
struct PartitionMove {
  PartitionRef from;
  uint64_t to_offset = 0;
};

// Every object (but those in `except`) with a device element on a partition the disk engine moved,
// as it must be now: the elements follow the moves (MBR stores name partitions by byte offset;
// GPT GUIDs do not change, so GPT stores yield nothing). By object id.
[[nodiscard]] std::map<Guid, Object> FollowPartitionMoves(const Store& store,
                                                          const std::vector<PartitionMove>& moves,
                                                          const std::vector<Guid>& except = {});

// The two objects of the entry, exactly as they must be.
std::vector<Object> EntryObjects(const EntrySpec& spec);

// The objects to save so that the store holds the entry, linked by policy, with Windows'
// entries following the moved partitions: Lifeboat's two objects, {bootmgr} if its lists change,
// and any object with a device element on a moved partition. Objects already right are left out,
// so an unchanged store yields nothing. Errors: kCorrupt (no {bootmgr}), kUnsupported (a
// recovery-sequence link with no default Windows loader).
[[nodiscard]] Result<std::vector<Object>> PlanEntryEdit(const Store& store, const EntrySpec& spec,
                                                        const std::vector<PartitionMove>& moves);

// {bootmgr}'s bootsequence set to the entry: the next boot (only) starts Lifeboat.
[[nodiscard]] Result<std::vector<Object>> PlanBootOnce(const Store& store, const Guid& loader);

// What the store says about an installed entry.
struct InstalledEntry {
  std::string description;
  std::optional<Device> device;  // the loader's RAM disk
  std::string sdi_path;
  std::optional<PartitionRef> sdi_partition;
  std::vector<std::string> linked_from;  // "toolsdisplayorder", "displayorder", "recoverysequence"
  bool boot_once = false;                // {bootmgr} bootsequence names it
};
std::optional<InstalledEntry> FindEntry(const Store& store, const Guid& loader,
                                        const Guid& options);

// Whether the store holds the entry exactly as `spec` describes it, linked by its policy.
bool EntryIntact(const Store& store, const EntrySpec& spec);

}  // namespace lifeboat::bcd
