// The planner: a pure function from a disk model and a policy to a plan or a refusal.
// No I/O, no clock; everything it needs is in its arguments.
#pragma once

#include <expected>
#include <string>

#include "partition/disk_model.h"
#include "partition/plan.h"

namespace lifeboat::partition {

struct PlanPolicy {
  Bytes recovery_size = kGiB;
  // The image the partition is for, when known: the partition must hold at least one copy.
  std::optional<Bytes> image_size;
  // Free space the Windows volume keeps beyond ntfsresize's minimum after a shrink. nullopt:
  // DefaultShrinkMargin of the volume.
  std::optional<Bytes> shrink_margin;
  Bytes alignment = kMiB;
  bool allow_gpt_repair = false;
};

enum class RefusalReason {
  kNoPartitionTable,
  kGptNeedsRepair,
  kNotWindowsDisk,
  kNoWinRe,  // winre grow: the disk has no WinRE partition
  kLifeboatTooSmall,
  kUnknownPartitionInTheWay,
  kNoFreePrimarySlot,
  kBitLocker,              // an encrypted Windows volume would have to be shrunk
  kBitLockerProtectionOn,  // an encrypted volume's protection is on: no boot change now
  kNotNtfs,
  kNtfsNotInspected,
  kNtfsDirty,
  kHibernated,
  kNotEnoughSpace,
  kInvalidPolicy,
  kUnsafeTable,
  kTableChanged,  // disk restore: the table is no longer the one the run left
};

const char* RefusalName(RefusalReason reason);

struct Refusal {
  RefusalReason reason;
  std::string message;  // what, where, why, and what a person can do about it
};

// A refusal when a BitLocker volume on the disk has protection on, or metadata that cannot be
// read (taken as on): changing the boot path (the BCD, the partitions it names) would make
// Windows ask for the recovery key at its next start. Says how to suspend protection for one
// reboot. Pure.
std::optional<Refusal> BitLockerProtectionRefusal(const DiskModel& d);

// Whether the Windows volume `w` of `d` may be shrunk at all (NTFS, inspected, clean, not
// hibernated, its minimum known); returns its NTFS details. Pure.
[[nodiscard]] std::expected<NtfsDetails, Refusal> ShrinkableWindows(const DiskModel& d,
                                                                    const Partition& w);

// The recovery partition's default size: room for two images side by side (an upgrade writes
// the new one before removing the old) plus NTFS overhead, at least 1 GiB.
Bytes DefaultRecoverySize(std::optional<Bytes> image_size);

// The smallest recovery partition Lifeboat makes: one image with boot.sdi, the 16 MiB the write
// keeps free, and NTFS's own metadata (MFT, log file), 64 MiB in all beyond the image.
Bytes MinimumRecoverySize(std::optional<Bytes> image_size);

// How much free space a shrunk Windows volume keeps beyond the bare minimum: 1 GiB, or 10 % of
// the data it holds if more. ntfsresize's minimum leaves Windows no room for its page file,
// temporary files and the next update; this leaves enough to boot and be serviced.
Bytes DefaultShrinkMargin(Bytes min_size);

// The GPT GUID of the Lifeboat partition the planner creates on a disk: derived from the disk's
// GUID, so a plan names it before it exists and a resumed run creates the same one.
std::string LifeboatPartitionGuid(const std::string& disk_id);

[[nodiscard]] std::expected<Plan, Refusal> MakePlan(const DiskModel& disk,
                                                    const PlanPolicy& policy);

}  // namespace lifeboat::partition
