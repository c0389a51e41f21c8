#include "partition/disk_model.h"

#include <algorithm>
#include <cctype>

namespace lifeboat::partition {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kEsp:
      return "esp";
    case Role::kMsr:
      return "msr";
    case Role::kSystemReserved:
      return "system-reserved";
    case Role::kWindows:
      return "windows";
    case Role::kWinRe:
      return "winre";
    case Role::kLifeboat:
      return "lifeboat";
    case Role::kData:
      return "data";
    case Role::kUnknown:
      return "unknown";
  }
  return "unknown";
}

const char* FilesystemName(FilesystemKind kind) {
  switch (kind) {
    case FilesystemKind::kNone:
      return "none";
    case FilesystemKind::kNtfs:
      return "ntfs";
    case FilesystemKind::kFat:
      return "fat";
    case FilesystemKind::kBitLocker:
      return "bitlocker";
    case FilesystemKind::kOther:
      return "other";
  }
  return "other";
}

const char* LabelName(LabelKind kind) {
  switch (kind) {
    case LabelKind::kNone:
      return "none";
    case LabelKind::kGpt:
      return "gpt";
    case LabelKind::kMbr:
      return "mbr";
  }
  return "none";
}

const Partition* DiskModel::WithRole(Role role) const {
  for (const auto& p : partitions) {
    if (p.role == role) return &p;
  }
  return nullptr;
}

namespace {

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsLifeboat(const Partition& p) {
  return EqualsIgnoreCase(p.name, kLifeboatName) || EqualsIgnoreCase(p.fs_label, kLifeboatName);
}

bool MayHoldWindows(const Partition& p) {
  if (p.filesystem == FilesystemKind::kBitLocker) return true;  // cannot look inside; assume so
  // Without a look inside (not root) the largest NTFS data volume is the best guess.
  return p.filesystem == FilesystemKind::kNtfs && (!p.ntfs || p.ntfs->has_windows_dir);
}

}  // namespace

void ClassifyPartitions(DiskModel& disk) {
  const bool gpt = disk.label == LabelKind::kGpt;
  Partition* windows = nullptr;
  for (auto& p : disk.partitions) {
    const bool data_type = gpt ? EqualsIgnoreCase(p.type, types::kGptBasicData)
                               : (EqualsIgnoreCase(p.type, types::kMbrNtfs));
    const bool recovery_type = gpt ? EqualsIgnoreCase(p.type, types::kGptRecovery)
                                   : EqualsIgnoreCase(p.type, types::kMbrRecovery);
    if (gpt ? EqualsIgnoreCase(p.type, types::kGptEsp) : EqualsIgnoreCase(p.type, types::kMbrEsp)) {
      p.role = Role::kEsp;
    } else if (gpt && EqualsIgnoreCase(p.type, types::kGptMsr)) {
      p.role = Role::kMsr;
    } else if (recovery_type) {
      p.role = IsLifeboat(p) ? Role::kLifeboat : Role::kWinRe;
    } else if (data_type) {
      p.role = Role::kData;
      // The largest data volume holding \Windows is the Windows partition (dual installs aside).
      if (MayHoldWindows(p) && (!windows || p.size > windows->size)) windows = &p;
    } else {
      p.role = Role::kUnknown;
    }
  }
  if (windows) windows->role = Role::kWindows;
  if (!gpt) {
    // BIOS machines boot from an active NTFS "System Reserved" partition holding \Boot\BCD.
    for (auto& p : disk.partitions) {
      if (p.role == Role::kData && p.bootable && p.filesystem == FilesystemKind::kNtfs) {
        p.role = Role::kSystemReserved;
      }
    }
  }
}

}  // namespace lifeboat::partition
