// What every boot medium is made from: a recovery image checked for what a medium needs, its boot
// files, and the small files of the Windows media layout staged in a folder (everything but
// \sources\boot.wim, which is copied straight from the image file). Blocks on wimlib and files.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "image/wim_file.h"
#include "media/boot_files.h"

namespace lifeboat::media {

enum class FirmwareChoice { kBoth, kUefi, kBios };
// What boots the image: a CD also needs each firmware's El Torito image; the network needs the
// PXE boot files for BIOS (media/network_tree.h).
enum class MediumKind { kStick, kCd, kNetwork };
[[nodiscard]] const char* FirmwareChoiceName(FirmwareChoice choice);  // "both", "uefi", "bios"

struct MediumSource {
  image::ImageInfo image;
  BootFiles boot;
  std::string version;
  std::string description;  // the boot manager's entry: "<image name> <version>"
  bool bios = false, uefi = false;
};

// Checks the WIM (its metadata, or every byte with `full_check`), refuses an expired one, and
// reads its boot files. Errors: those of CheckImage; kUnsupported naming the boot files the chosen
// firmware lacks for this kind of medium; the refusal "image-expired".
[[nodiscard]] Result<MediumSource> ReadMediumSource(const std::string& wim,
                                                    const std::string& version,
                                                    FirmwareChoice firmware, MediumKind kind,
                                                    bool full_check);

// Writes the layout's small files under `root` (which exists): the boot managers, the two BCD
// stores (written and decoded again), boot.sdi and, for a CD, the El Torito images. Returns their
// paths, Windows-style from the medium's root.
[[nodiscard]] Result<std::vector<std::string>> StageBootTree(const MediumSource& source,
                                                             const std::string& root, bool cd);

// `root` + a layout path ("\boot\bcd" → root/boot/bcd).
[[nodiscard]] std::string StagedPath(const std::string& root, const std::string& medium_path);

}  // namespace lifeboat::media
