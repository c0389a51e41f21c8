#include "partition/planner.h"

#include <algorithm>
#include <cstdio>

#include "common/sha256.h"
#include "partition/layout_check.h"

namespace lifeboat::partition {
namespace {

std::unexpected<Refusal> Refuse(RefusalReason reason, std::string message) {
  return std::unexpected(Refusal{reason, std::move(message)});
}

std::string Describe(const Partition& p) {
  return "partition " + std::to_string(p.number) + " (" + RoleName(p.role) + ", type " + p.type +
         (p.name.empty() ? "" : ", '" + p.name + "'") + ")";
}

}  // namespace

std::expected<NtfsDetails, Refusal> ShrinkableWindows(const DiskModel& d, const Partition& w) {
  const std::string who = d.path + " partition " + std::to_string(w.number) + " (Windows)";
  if (w.filesystem == FilesystemKind::kBitLocker) {
    // Suspending BitLocker leaves the volume encrypted (only its key is left in the clear), and
    // no Linux tool resizes an encrypted volume: the room can only be made from Windows.
    return Refuse(RefusalReason::kBitLocker,
                  who +
                      " is BitLocker-encrypted and there is no free space for Lifeboat: an "
                      "encrypted volume is never shrunk from Linux (suspending BitLocker does not "
                      "decrypt it). Shrink the volume from Windows (Disk Management, or "
                      "Resize-Partition) to leave room after it, then try again");
  }
  if (w.filesystem != FilesystemKind::kNtfs) {
    return Refuse(RefusalReason::kNotNtfs, who + " does not hold NTFS; Lifeboat only shrinks NTFS");
  }
  if (!w.ntfs) {
    return Refuse(RefusalReason::kNtfsNotInspected,
                  who + " was not looked inside (run as root) so its minimum size is unknown");
  }
  if (w.ntfs->dirty) {
    return Refuse(RefusalReason::kNtfsDirty,
                  who +
                      " is marked for chkdsk: boot Windows (or run 'chkdsk /f') so it checks the "
                      "volume, then try again");
  }
  if (w.ntfs->hibernated) {
    return Refuse(RefusalReason::kHibernated,
                  who +
                      " is hibernated or was left in use by Windows Fast Startup: shut Windows "
                      "down fully ('shutdown /s /t 0') and try again");
  }
  if (!w.ntfs->min_size) {
    return Refuse(RefusalReason::kNtfsNotInspected,
                  who + ": ntfsresize could not tell its minimum size: " + w.ntfs->problem);
  }
  return *w.ntfs;
}

const char* RefusalName(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kNoPartitionTable:
      return "no-partition-table";
    case RefusalReason::kGptNeedsRepair:
      return "gpt-needs-repair";
    case RefusalReason::kNotWindowsDisk:
      return "not-windows-disk";
    case RefusalReason::kNoWinRe:
      return "no-winre";
    case RefusalReason::kLifeboatTooSmall:
      return "lifeboat-too-small";
    case RefusalReason::kUnknownPartitionInTheWay:
      return "unknown-partition-in-the-way";
    case RefusalReason::kNoFreePrimarySlot:
      return "no-free-primary-slot";
    case RefusalReason::kBitLocker:
      return "bitlocker";
    case RefusalReason::kBitLockerProtectionOn:
      return "bitlocker-protection-on";
    case RefusalReason::kNotNtfs:
      return "not-ntfs";
    case RefusalReason::kNtfsNotInspected:
      return "ntfs-not-inspected";
    case RefusalReason::kNtfsDirty:
      return "ntfs-dirty";
    case RefusalReason::kHibernated:
      return "hibernated";
    case RefusalReason::kNotEnoughSpace:
      return "not-enough-space";
    case RefusalReason::kInvalidPolicy:
      return "invalid-policy";
    case RefusalReason::kUnsafeTable:
      return "unsafe-partition-table";
    case RefusalReason::kTableChanged:
      return "table-changed";
  }
  return "unknown";
}

std::optional<Refusal> BitLockerProtectionRefusal(const DiskModel& d) {
  std::string which;
  for (const auto& p : d.partitions) {
    if (p.filesystem != FilesystemKind::kBitLocker || (p.bitlocker && p.bitlocker->Suspended()))
      continue;
    which += which.empty() ? "" : "; ";
    which += "partition " + std::to_string(p.number) + " (" + RoleName(p.role) + ")";
    if (!p.bitlocker) {
      which += ": its BitLocker metadata was not read, so protection is taken to be on";
    } else if (!p.bitlocker->problem.empty()) {
      which += ": its BitLocker metadata cannot be read (" + p.bitlocker->problem +
               "), so protection is taken to be on";
    } else {
      std::string protectors;
      for (const auto& t : p.bitlocker->protectors)
        protectors += (protectors.empty() ? "" : ", ") + t;
      which += " has BitLocker protection on (protectors: " + protectors + ")";
    }
  }
  if (which.empty()) return std::nullopt;
  return Refusal{RefusalReason::kBitLockerProtectionOn,
                 d.path + ": " + which +
                     ". Changing this machine's boot configuration now would make Windows ask "
                     "for the BitLocker recovery key at its next start. In Windows, suspend "
                     "protection for one reboot: `manage-bde -protectors -disable C: "
                     "-RebootCount 1` (PowerShell: `Suspend-BitLocker -MountPoint C: "
                     "-RebootCount 1`), then service the machine again; Windows resumes "
                     "protection by itself at that boot. Nothing was changed"};
}

// Sizes beyond any disk saturate here instead of wrapping round; MakePlan then refuses them as
// larger than the disk.
constexpr uint64_t kBeyondAnyDisk = UINT64_MAX / 4;

Bytes DefaultRecoverySize(std::optional<Bytes> image_size) {
  if (!image_size) return kGiB;
  if (image_size->value > kBeyondAnyDisk / 2) return Bytes{kBeyondAnyDisk};
  // Two images, plus 64 MiB for NTFS metadata, boot.sdi and the log file, rounded up to 64 MiB.
  const uint64_t wanted = 2 * image_size->value + 64 * kMiB.value;
  return Bytes{std::max(kGiB.value, AlignUp(wanted, 64 * kMiB.value))};
}

Bytes MinimumRecoverySize(std::optional<Bytes> image_size) {
  const uint64_t image = image_size ? std::min(image_size->value, kBeyondAnyDisk) : 0;
  return Bytes{AlignUp(image + 64 * kMiB.value, kMiB.value)};
}

Bytes DefaultShrinkMargin(Bytes min_size) {
  return Bytes{std::max(kGiB.value, min_size.value / 10)};
}

std::expected<Plan, Refusal> MakePlan(const DiskModel& d, const PlanPolicy& policy) {
  const uint32_t ss = d.sector_size;
  if (ss == 0 || policy.alignment.value == 0 || policy.alignment.value % ss != 0) {
    return Refuse(RefusalReason::kInvalidPolicy,
                  "alignment " + std::to_string(policy.alignment.value) +
                      " is not a multiple of the sector size " + std::to_string(ss));
  }
  // Sizes first, so that no arithmetic below can overflow: each is at most the disk's size.
  const Bytes disk_size{d.total.count > UINT64_MAX / ss ? UINT64_MAX : d.total.count * ss};
  if (policy.image_size && *policy.image_size >= disk_size) {
    return Refuse(RefusalReason::kNotEnoughSpace,
                  d.path + ": not enough room: an image of " + HumanSize(*policy.image_size) +
                      " cannot fit on a disk of " + HumanSize(disk_size));
  }
  const Bytes minimum = MinimumRecoverySize(policy.image_size);
  if (policy.recovery_size < minimum) {
    return Refuse(RefusalReason::kInvalidPolicy,
                  d.path + ": a recovery partition of " + HumanSize(policy.recovery_size) +
                      " is too small: " +
                      (policy.image_size ? "an image of " + HumanSize(*policy.image_size) +
                                               " with boot.sdi and NTFS's metadata needs "
                                         : std::string("Lifeboat's partition needs ")) +
                      "at least " + HumanSize(minimum) + "; ask for a larger --size");
  }
  if (policy.recovery_size >= disk_size) {
    return Refuse(RefusalReason::kNotEnoughSpace,
                  d.path + ": not enough room: a recovery partition of " +
                      HumanSize(policy.recovery_size) + " does not fit on a disk of " +
                      HumanSize(disk_size) + "; ask for a smaller --size");
  }
  if (policy.shrink_margin && *policy.shrink_margin >= disk_size) {
    return Refuse(RefusalReason::kInvalidPolicy,
                  d.path + ": a shrink margin of " + HumanSize(*policy.shrink_margin) +
                      " is more than the whole disk (" + HumanSize(disk_size) + ")");
  }
  if (auto problems = CheckLayout(d); !problems.empty())
    return Refuse(RefusalReason::kUnsafeTable, DescribeLayoutProblems(d, problems));
  if (d.label == LabelKind::kNone) {
    return Refuse(RefusalReason::kNoPartitionTable,
                  d.path +
                      ": no partition table (neither GPT nor MBR): Lifeboat adds a partition to "
                      "an installed Windows disk and will not create a table");
  }
  if (d.needs_repair && !policy.allow_gpt_repair) {
    return Refuse(RefusalReason::kGptNeedsRepair,
                  d.path + ": the partition table needs repair (" + d.repair_reason +
                      "); check the disk, then pass --allow-gpt-repair to let Lifeboat write the "
                      "repaired table");
  }
  if (auto refusal = BitLockerProtectionRefusal(d)) return std::unexpected(*refusal);
  const uint64_t grain = policy.alignment.value / ss;
  const Sectors want{AlignUp(ToSectorsCeil(policy.recovery_size, ss).count, grain)};

  Plan plan;
  plan.disk_path = d.path;
  plan.disk_id = d.disk_id;
  plan.label = d.label;
  plan.sector_size = ss;
  plan.requested_size = ToBytes(want, ss);

  const Partition* windows = d.WithRole(Role::kWindows);
  if (!windows) {
    return Refuse(RefusalReason::kNotWindowsDisk,
                  d.path + ": not a Windows disk: no " +
                      (d.label == LabelKind::kGpt ? "basic-data" : "type 0x07") +
                      " partition holds an NTFS volume with \\Windows (or a BitLocker volume)");
  }
  if (const Partition* lifeboat = d.WithRole(Role::kLifeboat)) {
    if (lifeboat->size >= want) {
      plan.recovery_start = lifeboat->start;
      plan.recovery_size = lifeboat->size;
      return plan;
    }
    return Refuse(RefusalReason::kLifeboatTooSmall,
                  d.path + ": Lifeboat's partition " + std::to_string(lifeboat->number) + " is " +
                      HumanSize(ToBytes(lifeboat->size, ss)) + ", smaller than the " +
                      HumanSize(plan.requested_size) +
                      " asked for; growing it in place is not supported: ask for at most its size");
  }

  // Lifeboat goes directly behind Windows, or behind WinRE when WinRE directly follows Windows.
  const auto& parts = d.partitions;
  const auto windows_it = std::find_if(
      parts.begin(), parts.end(), [&](const Partition& p) { return p.number == windows->number; });
  auto next = windows_it + 1;
  const Partition* winre = nullptr;
  if (next != parts.end() && next->role == Role::kWinRe) {
    winre = &*next;
    ++next;
  } else {
    for (auto it = next; it != parts.end(); ++it) {
      if (it->role != Role::kWinRe) continue;
      return Refuse(RefusalReason::kUnknownPartitionInTheWay,
                    d.path + ": " + Describe(*next) + " sits between Windows (partition " +
                        std::to_string(windows->number) + ") and its recovery partition " +
                        std::to_string(it->number) +
                        "; Lifeboat moves only WinRE and will not "
                        "touch other partitions");
    }
  }
  const Partition* after = next != parts.end() ? &*next : nullptr;
  const Partition& anchor = winre ? *winre : *windows;

  if (d.label == LabelKind::kMbr) {
    const auto primaries =
        std::count_if(parts.begin(), parts.end(), [](const Partition& p) { return p.number <= 4; });
    if (primaries >= 4) {
      return Refuse(RefusalReason::kNoFreePrimarySlot,
                    d.path +
                        ": all four MBR primary partition slots are used; Lifeboat needs one "
                        "(remove an unused partition, or convert the disk to GPT)");
    }
  }

  const uint64_t gap_start = AlignUp(anchor.End().value, grain);
  const uint64_t gap_end = after ? after->start.value : AlignDown(d.last_usable.value + 1, grain);
  const uint64_t available = gap_end > gap_start ? gap_end - gap_start : 0;

  plan.steps.push_back(BackupTableStep{});
  const bool gpt = d.label == LabelKind::kGpt;
  auto add_partition = [&](Lba start) {
    plan.recovery_start = start;
    plan.recovery_size = want;
    plan.steps.push_back(CreatePartitionStep{
        start, want, gpt ? types::kGptRecovery : types::kMbrRecovery, gpt ? kLifeboatName : "",
        gpt ? types::kRecoveryAttributes : 0, gpt ? LifeboatPartitionGuid(d.disk_id) : ""});
    plan.steps.push_back(FormatNtfsStep{start, want, kLifeboatName});
  };
  if (available >= want.count) {
    add_partition(Lba{gap_start});
    return plan;
  }

  // Make room: shrink Windows by the deficit and slide WinRE (if any) down by the same amount.
  const Sectors deficit{AlignUp(want.count - available, grain)};
  auto ntfs = ShrinkableWindows(d, *windows);
  LIFEBOAT_TRY(ntfs);
  const Bytes margin = policy.shrink_margin.value_or(DefaultShrinkMargin(*ntfs->min_size));
  const Bytes floor = *ntfs->min_size + margin;
  const Bytes windows_bytes = ToBytes(windows->size, ss);
  const Bytes needed = ToBytes(deficit, ss);
  if (windows->size <= deficit || windows_bytes - needed < floor) {
    const Bytes can_give = windows_bytes > floor ? windows_bytes - floor : Bytes{0};
    return Refuse(RefusalReason::kNotEnoughSpace,
                  d.path + ": not enough room for a " + HumanSize(plan.requested_size) +
                      " recovery partition: " + HumanSize(needed) +
                      " must come from Windows (partition " + std::to_string(windows->number) +
                      ", " + HumanSize(windows_bytes) + ", at least " + HumanSize(*ntfs->min_size) +
                      " in use), which must keep " + HumanSize(margin) +
                      " free beyond that and so can give at most " + HumanSize(can_give) +
                      "; free space on Windows or ask for a smaller --size");
  }
  const Sectors new_windows = windows->size - deficit;
  plan.steps.push_back(ShrinkNtfsStep{windows->number, windows->start, ToBytes(new_windows, ss)});
  plan.steps.push_back(ResizePartitionStep{windows->number, windows->size, new_windows});
  if (winre) {
    const Lba to = winre->start - deficit;
    plan.steps.push_back(
        MovePartitionStep{winre->number, winre->start, to, winre->size, winre->uuid});
    // What names WinRE by its place follows it at once: Windows' ReAgent.xml and, on MBR disks,
    // the BCD store's recovery entry (by byte offset), as winre grow does.
    plan.steps.push_back(RetargetWinReStep{winre->number, windows->number,
                                           ToBytes(winre->start, ss), ToBytes(to, ss)});
    if (!gpt) {
      plan.notes.push_back("MBR: boot entries name partitions by byte offset; WinRE (partition " +
                           std::to_string(winre->number) + ") moves from byte offset " +
                           std::to_string(ToBytes(winre->start, ss).value) + " to " +
                           std::to_string(ToBytes(to, ss).value) +
                           ": Windows' recovery entry in the BCD store follows it");
    }
  }
  add_partition(Lba{gap_start} - deficit);
  return plan;
}

std::string LifeboatPartitionGuid(const std::string& disk_id) {
  const std::string seed = "lifeboat:partition:" + disk_id;
  Sha256 hash;
  hash.Update({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()});
  auto d = hash.Digest();
  d[6] = static_cast<uint8_t>((d[6] & 0x0f) | 0x40);  // version 4: no structure to read into it
  d[8] = static_cast<uint8_t>((d[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", d[0], d[1],
                d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
                d[15]);
  return text;
}

}  // namespace lifeboat::partition
