#include "media/usb_plan.h"

#include "common/units.h"

namespace lifeboat::media {

namespace {

constexpr uint64_t kMiB = 1ULL << 20;

uint64_t RoundUpToMiB(uint64_t bytes) { return (bytes + kMiB - 1) / kMiB * kMiB; }

std::string Human(uint64_t bytes) { return HumanSize(Bytes{bytes}); }

}  // namespace

uint64_t NeededPartitionSize(const UsbRequest& r) {
  // Files take whole clusters (at most 32 KiB each on sticks this size); the FATs take about 1 %
  // of a small volume; 8 MiB more for folders and slack.
  const uint64_t files = r.boot_files + r.wim;
  return std::max(kSmallestPartition, RoundUpToMiB(files + files / 50 + 8 * kMiB));
}

std::variant<UsbPlan, UsbRefusal> PlanUsb(const UsbTarget& t, const UsbRequest& r) {
  if (t.holds_running_system)
    return UsbRefusal{"system-disk", t.path +
                                         " holds the running system: it is never used as a "
                                         "medium; nothing was written"};
  if (!t.in_use.empty())
    return UsbRefusal{"target-in-use", t.path + " is in use (" + t.in_use +
                                           "): unmount it first; nothing was written"};
  if (r.wim > kFat32FileLimit)
    return UsbRefusal{"image-too-large-for-fat32",
                      "the image is " + Human(r.wim) +
                          ": FAT32, which UEFI firmware reads from a USB stick, holds no file of "
                          "4 GiB or more. Make an ISO instead (media iso), or a smaller image; "
                          "nothing was written"};
  if (t.sector_size != 512)
    return UsbRefusal{"sector-size", t.path + " has " + std::to_string(t.sector_size) +
                                         "-byte sectors; BIOS boot code needs 512; nothing was "
                                         "written"};
  if (!t.windows.empty() && !r.force) {
    std::string list;
    for (const auto& w : t.windows) list += (list.empty() ? "" : ", ") + w;
    return UsbRefusal{"holds-windows", t.path + " holds a Windows installation (" + list +
                                           "): is it the wrong disk? Add --force to erase it "
                                           "anyway; nothing was written"};
  }
  UsbPlan plan;
  plan.partition_start = kPartitionStart;
  const uint64_t needed = NeededPartitionSize(r);
  if (!t.exists) {
    if (t.block_device)
      return UsbRefusal{"no-target", t.path + " does not exist; nothing was written"};
    plan.create_file = true;
    plan.disk_size = r.new_size ? r.new_size : kPartitionStart + needed;
  } else {
    plan.disk_size = t.size;
    if (r.new_size && r.new_size != t.size)
      return UsbRefusal{"size-given", t.path + " exists (" + Human(t.size) +
                                          "): --size is only for an image file made anew; "
                                          "nothing was written"};
  }
  if (plan.disk_size > kLargestUsual && !r.force)
    return UsbRefusal{"larger-than-a-usb-stick",
                      t.path + " is " + Human(plan.disk_size) + ", larger than " +
                          Human(kLargestUsual) +
                          ": is it the wrong disk? Add --force to use it anyway; nothing was "
                          "written"};
  // Whole MiB, from 1 MiB to the end (the last partial MiB unused).
  plan.partition_size = (plan.disk_size / kMiB) * kMiB - kPartitionStart;
  if (plan.disk_size < kPartitionStart || plan.partition_size < needed)
    return UsbRefusal{"target-too-small",
                      t.path + " is " + Human(plan.disk_size) + "; the medium needs " +
                          Human(kPartitionStart + needed) + "; nothing was written"};
  plan.erases = t.contents;
  return plan;
}

}  // namespace lifeboat::media
