// A bootable ISO (CD/DVD, and what virtual machines and out-of-band consoles mount) in the Windows
// media layout, hybrid BIOS + UEFI El Torito, mastered by xorriso (run through common/process.h).
// Blocks until xorriso is done.
//
// Crash contract: xorriso writes into a staging folder beside the output (.NAME.media-XXXXXX),
// which is renamed to the output when the ISO is whole and its boot catalog checked; the staging
// folder is removed on every return, and a crash leaves it, never a partial ISO at the output.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "media/medium_source.h"

namespace lifeboat::media {

struct IsoRequest {
  std::string out;        // OUT.iso
  std::string volume_id;  // default: LIFEBOAT_<VERSION>, at most 32 characters
  std::function<void(const std::string&)> say;                  // a line of progress
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes of the ISO written
};

struct IsoResult {
  std::string out;
  uint64_t size = 0;
  std::string volume_id;
  bool bios = false, uefi = false;
  std::vector<std::string> files;  // the medium's files, Windows-style
};

// Errors: kIo (cannot write), kTool (xorriso failed), kCorrupt (the boot catalog xorriso wrote is
// not the one asked for).
[[nodiscard]] Result<IsoResult> WriteIso(const MediumSource& source, const IsoRequest& request);

// The volume ID for a version: "LIFEBOAT_" and the version in ISO 9660 d-characters (A-Z 0-9 _).
[[nodiscard]] std::string DefaultVolumeId(const std::string& version);

}  // namespace lifeboat::media
