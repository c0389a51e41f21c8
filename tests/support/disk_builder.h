// Disk models built by hand the way DiskReader would make them, in MiB, for either sector size:
// for the tests of pure planners (partition/planner.h, agent/apply_plan.h).
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "partition/disk_model.h"
#include "partition/plan.h"

namespace lifeboat::test {

using namespace partition;

constexpr uint64_t MiB = 1024 * 1024;

// Builds a disk model the way DiskReader would, in bytes, for either sector size.
// BitLocker protectors as Windows leaves them: protection on, and suspended for a reboot.
// A plan's step kinds in order ("backup-table", "shrink-ntfs", ...), for comparing with a list.
inline std::vector<std::string> StepKinds(const partition::Plan& plan) {
  std::vector<std::string> kinds;
  for (const auto& s : plan.steps) kinds.emplace_back(partition::StepKind(s));
  return kinds;
}

inline const std::vector<std::string> kProtectionOn = {"tpm", "recovery-password"};
inline const std::vector<std::string> kSuspended = {"tpm", "recovery-password", "clear-key"};

class DiskBuilder {
 public:
  DiskBuilder(LabelKind label, uint32_t ss, uint64_t disk_mib) {
    d_.path = "test.img";
    d_.label = label;
    d_.disk_id = label == LabelKind::kGpt ? "11111111-2222-3333-4444-555555555555" : "0x12345678";
    d_.sector_size = ss;
    d_.total = Sectors{disk_mib * MiB / ss};
    d_.first_usable = Lba{label == LabelKind::kGpt ? (ss == 512 ? 34u : 6u) : 1u};
    d_.last_usable = Lba{d_.total.count - (label == LabelKind::kGpt ? (ss == 512 ? 34 : 6) : 1)};
  }
  // Appends a partition at `start_mib` of `size_mib` with the given role attributes.
  DiskBuilder& Add(uint64_t start_mib, uint64_t size_mib, std::string type, FilesystemKind fs,
                   std::function<void(Partition&)> tweak = {}) {
    Partition p;
    p.number = static_cast<uint32_t>(d_.partitions.size() + 1);
    p.start = Lba{start_mib * MiB / d_.sector_size};
    p.size = Sectors{size_mib * MiB / d_.sector_size};
    p.type = std::move(type);
    p.filesystem = fs;
    // GPT partition GUIDs as libfdisk reports them (upper case).
    char uuid[37];
    std::snprintf(uuid, sizeof uuid, "0000000%u-0000-4000-8000-000000000000", p.number % 10);
    p.uuid = uuid;
    if (tweak) tweak(p);
    d_.partitions.push_back(p);
    return *this;
  }
  DiskBuilder& Windows(uint64_t start_mib, uint64_t size_mib, uint64_t used_mib,
                       std::function<void(Partition&)> tweak = {}) {
    const bool gpt = d_.label == LabelKind::kGpt;
    return Add(start_mib, size_mib, gpt ? types::kGptBasicData : types::kMbrNtfs,
               FilesystemKind::kNtfs, [&](Partition& p) {
                 p.ntfs = NtfsDetails{};
                 p.ntfs->has_windows_dir = true;
                 p.ntfs->volume_size = Bytes{size_mib * MiB};
                 p.ntfs->min_size = Bytes{used_mib * MiB};
                 if (tweak) tweak(p);
               });
  }
  // A BitLocker-encrypted Windows volume whose metadata lists these protectors ("tpm",
  // "recovery-password", ...; "clear-key" when protection is suspended).
  DiskBuilder& BitLocker(uint64_t start_mib, uint64_t size_mib,
                         std::vector<std::string> protectors) {
    return Add(start_mib, size_mib,
               d_.label == LabelKind::kGpt ? types::kGptBasicData : types::kMbrNtfs,
               FilesystemKind::kBitLocker, [&](Partition& p) {
                 p.bitlocker = BitLockerInfo{};
                 p.bitlocker->encryption_method = "aes-128-xts";
                 p.bitlocker->protectors = std::move(protectors);
               });
  }
  // WinRE; with `free_mib`, looked inside: its volume fills it and has that much free.
  DiskBuilder& WinRe(uint64_t start_mib, uint64_t size_mib,
                     std::optional<uint64_t> free_mib = std::nullopt) {
    const bool gpt = d_.label == LabelKind::kGpt;
    return Add(start_mib, size_mib, gpt ? types::kGptRecovery : types::kMbrRecovery,
               FilesystemKind::kNtfs, [&](Partition& p) {
                 p.fs_label = "WinRE";
                 if (gpt) p.attributes = types::kRecoveryAttributes;
                 if (!free_mib) return;
                 p.ntfs = NtfsDetails{};
                 p.ntfs->volume_size = Bytes{size_mib * MiB};
                 p.ntfs->min_size = Bytes{(size_mib - *free_mib) * MiB};
                 p.ntfs->free_bytes = Bytes{*free_mib * MiB};
               });
  }
  // ESP + MSR as Windows Setup lays them out, ending at 117 MiB.
  DiskBuilder& UefiBoot() {
    Add(1, 100, types::kGptEsp, FilesystemKind::kFat);
    return Add(101, 16, types::kGptMsr, FilesystemKind::kNone);
  }
  DiskModel Build() {
    ClassifyPartitions(d_);
    return d_;
  }

 private:
  DiskModel d_;
};

}  // namespace lifeboat::test
