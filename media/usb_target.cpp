#include "media/usb_target.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/units.h"
#include "partition/disk_handle.h"
#include "partition/disk_reader.h"
#include "partition/disk_users.h"

namespace lifeboat::media {

namespace fs = std::filesystem;

namespace {

// The whole disks (sysfs names: "sda", "nvme0n1") a block device lives on: itself, the disk a
// partition belongs to, and the disks under a device-mapper or MD device.
void DisksUnder(const fs::path& sysfs_device, std::set<std::string>& disks, int depth = 0) {
  std::error_code ec;
  if (depth > 8) return;
  const fs::path real = fs::canonical(sysfs_device, ec);
  if (ec) return;
  if (fs::exists(real / "partition", ec)) {
    disks.insert(real.parent_path().filename().string());
    return;
  }
  bool stacked = false;
  for (const auto& slave : fs::directory_iterator(real / "slaves", ec)) {
    stacked = true;
    DisksUnder(slave.path(), disks, depth + 1);
  }
  if (!stacked) disks.insert(real.filename().string());
}

std::set<std::string> DisksOf(dev_t device) {
  std::set<std::string> disks;
  if (major(device) == 0) return disks;  // tmpfs, overlay: on no disk
  DisksUnder(
      "/sys/dev/block/" + std::to_string(major(device)) + ":" + std::to_string(minor(device)),
      disks);
  return disks;
}

bool HoldsRunningSystem(dev_t target) {
  const std::set<std::string> target_disks = DisksOf(target);
  for (const char* mount : {"/", "/boot", "/usr"}) {
    struct stat st {};
    if (stat(mount, &st) != 0) continue;
    for (const auto& disk : DisksOf(st.st_dev))
      if (target_disks.contains(disk)) return true;
  }
  return false;
}

std::string PartitionName(const std::string& disk, uint32_t number) {
  const bool digit_end = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
  return disk + (digit_end ? "p" : "") + std::to_string(number);
}

}  // namespace

Result<UsbTarget> InspectUsbTarget(const std::string& path) {
  UsbTarget target;
  target.path = path;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && fs::path(path).parent_path().string() != "/dev") return target;
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                path + ": " + std::strerror(errno));
  }
  target.exists = true;
  target.block_device = S_ISBLK(st.st_mode);
  if (!target.block_device && !S_ISREG(st.st_mode))
    return Fail(ErrorCode::kInvalidArgument,
                path + " is neither a block device nor a regular file");
  if (target.block_device) target.holds_running_system = HoldsRunningSystem(st.st_rdev);

  auto use = partition::FindDiskUse(path);
  if (!use) return std::unexpected(use.error());
  if (*use)
    target.in_use = (*use)->mount_point == "swap"
                        ? "swap on " + (*use)->device
                        : "mounted at " + (*use)->mount_point + " (" + (*use)->device + ")";

  if (target.holds_running_system) return target;  // refused whatever it holds
  auto disk = partition::DiskHandle::Open(path, partition::DiskHandle::Mode::kReadOnly);
  if (!disk) return std::unexpected(disk.error());
  target.size = disk->size().value;
  if (target.size < (1ULL << 20)) return target;  // too small for a table: nothing to look at
  auto model = partition::ReadDisk(*disk);
  if (!model) {
    // What cannot be read cannot be shown as erased; still, a stick with a table libfdisk
    // refuses (a BSD label, a damaged GPT) is a normal thing to wipe.
    target.contents.push_back("a partition table that cannot be read (" + model.error().message +
                              ")");
    return target;
  }
  target.sector_size = model->sector_size;
  if (model->label == partition::LabelKind::kNone) {
    target.contents.push_back("no partition table");
    return target;
  }
  target.contents.push_back(std::string(partition::LabelName(model->label)) + " partition table");
  for (const auto& p : model->partitions) {
    const std::string name = target.block_device ? PartitionName(path, p.number)
                                                 : "partition " + std::to_string(p.number);
    std::string line = name + ": " + HumanSize(ToBytes(p.size, model->sector_size)) + " " +
                       partition::FilesystemName(p.filesystem);
    if (!p.fs_label.empty()) line += " \"" + p.fs_label + "\"";
    if (p.role == partition::Role::kWindows) {
      line += " (Windows)";
      target.windows.push_back(name);
    }
    target.contents.push_back(line);
  }
  return target;
}

}  // namespace lifeboat::media
