// Checks a recovery image (a WIM) before anything is written: wimlib, used only in wim_file.cpp.
// Blocks while it reads the whole file (integrity table, every resource's SHA-1, SHA-256).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::image {

enum class Firmware { kUefi, kBios };
const char* FirmwareName(Firmware firmware);

// What Lifeboat needs to know about a recovery image, all read from the WIM itself.
struct ImageInfo {
  std::string path;
  std::string sha256;  // of the whole .wim file
  Bytes size;          // of the whole .wim file
  uint32_t image_count = 0;
  uint32_t boot_index = 0;  // 1-based index of the bootable image
  std::string name;         // of the boot image
  std::string description;
  std::string architecture;    // x86, x64, arm64, or unknown when the WIM does not say
  uint64_t expanded_size = 0;  // bytes of file data in the boot image
  uint64_t file_count = 0;     // files (not folders) in the boot image
  bool has_integrity_table = false;
  // Paths inside the boot image, Windows style ("\Windows\System32\boot\winload.efi"); empty
  // when the image lacks them.
  std::string winload_efi;
  std::string winload_exe;
  std::string boot_sdi;
  // The text of \Lifeboat\build.json when `lifeboatctl image build` made the image (its build
  // manifest: contents and expiry, compose/image_contents.h reads it); empty otherwise.
  std::string build_manifest;

  // The loader bootmgr must start for this firmware, or empty when the image has none.
  [[nodiscard]] const std::string& WinloadFor(Firmware firmware) const {
    return firmware == Firmware::kUefi ? winload_efi : winload_exe;
  }
};

// How much of a WIM CheckImage reads.
enum class CheckDepth {
  kFull,      // every byte: the integrity table, every resource's SHA-1, and the file's SHA-256
  kMetadata,  // the header, the XML and the boot image's folder tree only (sha256 left empty):
              // for callers that prove the bytes otherwise, or copy them without using them
};

// Opens `path` and checks that it is a whole (not split) WIM that (at kFull) passes its integrity
// check and the verification of every resource, has a boot index, and holds a winload and
// boot.sdi where WinPE and WinRE images keep them. Errors: kNotFound (no file), kCorrupt
// (damaged), kUnsupported (split, no boot image, missing winload or boot.sdi), each saying which.
[[nodiscard]] Result<ImageInfo> CheckImage(const std::string& path,
                                           CheckDepth depth = CheckDepth::kFull);

// The bytes of one file of the boot image (boot.sdi, a few MB), checked against its SHA-1 as
// wimlib extracts it. Errors: kNotFound, kCorrupt.
[[nodiscard]] Result<std::vector<uint8_t>> ReadImageFile(const ImageInfo& image,
                                                         const std::string& path_in_image);

// The bytes of several files of the boot image, read in one pass (one open of the WIM); a path
// the image does not have is left out of the result. Errors: kCorrupt.
[[nodiscard]] Result<std::map<std::string, std::vector<uint8_t>>> ReadImageFiles(
    const ImageInfo& image, const std::vector<std::string>& paths_in_image);

// The names in one folder of the boot image ("\Windows\Boot\DVD\EFI"), folders marked by a
// trailing '\\'. Errors: kNotFound (no such folder), kCorrupt.
[[nodiscard]] Result<std::vector<std::string>> ListImageFolder(const ImageInfo& image,
                                                               const std::string& folder);

}  // namespace lifeboat::image
