// lifeboat-agent media iso|usb: boot media made from a recovery image file (media/ does the work;
// this is the command line's side: options, output, exit codes).
#pragma once

#include <string>

#include "media/medium_source.h"

namespace lifeboat::agent {

struct MediaOptions {
  std::string image;    // FILE.wim
  std::string version;  // V
  std::string target;   // OUT.iso, or the USB device or image file
  media::FirmwareChoice firmware = media::FirmwareChoice::kBoth;
  bool check_image = false;  // read every byte of the WIM first (image check)
  std::string volume_id;     // ISO; USB: the FAT label
  bool json = false;
  // USB
  bool dry_run = false;
  bool force = false;
  uint64_t new_size = 0;  // an image file made anew: its size (0: just large enough)
};

int MediaIso(const MediaOptions& options);
int MediaUsb(const MediaOptions& options);

}  // namespace lifeboat::agent
