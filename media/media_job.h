// A boot medium made from start to end, as both command lines do it (lifeboat-agent media from a
// local WIM, lifeboatctl media from a published version it downloaded): check the image, plan,
// say what will be written (and, for a USB stick, erased), write, and report. Blocks throughout.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/wim_file.h"
#include "media/medium_source.h"

namespace lifeboat::media {

struct MediaJob {
  std::string image;    // FILE.wim
  std::string version;  // V
  std::string target;   // OUT.iso, or the USB device or image file
  FirmwareChoice firmware = FirmwareChoice::kBoth;
  bool check_image = false;  // read every byte of the WIM first (image check)
  std::string label;         // ISO volume ID, or the USB stick's FAT label; empty: the default
  // USB only
  bool dry_run = false;
  bool force = false;
  uint64_t new_size = 0;  // an image file made anew: its size (0: just large enough)
  // A line of progress for people; on stderr when the command prints JSON.
  std::function<void(const std::string&)> say;
  // Bytes of the image put on the medium so far (xorriso's progress; the copy onto a stick).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct MediumReport {
  std::string kind;    // iso | usb
  std::string target;  // OUT.iso, or the device or image file written
  std::string result;  // written | planned (dry run)
  std::string version;
  std::vector<std::string> firmware;  // "bios", "uefi": what it boots with
  uint64_t size = 0;                  // the ISO's size, or the FAT partition's
  std::vector<std::string> files;     // Windows-style paths on the medium
  std::string label;                  // the ISO volume ID, or the FAT label
  std::vector<std::string> erased;    // USB: what was on the target
  bool verified = false;              // USB: read back after writing and found equal
  image::ImageInfo image;
};

// Errors: those of the image check (kNotFound, kCorrupt, kUnsupported), the refusals of
// usb_plan.h and "image-expired" (kRefused, nothing written), and the writers' (kIo, kTool,
// kCorrupt).
[[nodiscard]] Result<MediumReport> MakeIso(const MediaJob& job);
[[nodiscard]] Result<MediumReport> MakeUsb(const MediaJob& job);

}  // namespace lifeboat::media
