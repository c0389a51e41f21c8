// What a boot medium takes from the recovery image itself (\Windows\Boot\...): the boot managers,
// the CD's El Torito boot images, boot.sdi and the media BCD templates, as Windows install and
// recovery media carry them. Blocks on wimlib.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/wim_file.h"

namespace lifeboat::media {

struct BootFiles {
  std::vector<uint8_t> boot_sdi;  // the RAM disk's System Deployment Image
  // BIOS
  std::vector<uint8_t> bootmgr;      // \Windows\Boot\PCAT\bootmgr
  std::vector<uint8_t> etfsboot;     // \Windows\Boot\DVD\PCAT\etfsboot.com: a CD's BIOS boot image
  std::vector<uint8_t> bcd_bios;     // \Windows\Boot\DVD\PCAT\BCD: the template of \boot\bcd
                                     // (empty: the store is made from scratch)
  std::vector<uint8_t> pxeboot;      // \Windows\Boot\PXE\pxeboot.n12: a PXE BIOS's first file
  std::vector<uint8_t> bootmgr_pxe;  // \Windows\Boot\PXE\bootmgr.exe, which pxeboot.n12 loads
  // UEFI
  std::vector<uint8_t> bootmgr_efi;  // \Windows\Boot\EFI\bootmgfw.efi
  std::vector<uint8_t> efisys;       // a CD's UEFI boot image: a FAT image holding cdboot
  std::string efisys_path;           // where efisys came from (…\<locale>\efisys_noprompt.bin)
  std::vector<uint8_t> bcd_uefi;     // \Windows\Boot\DVD\EFI\BCD: the template of \efi\…\bcd

  // What the medium can boot with: a boot manager for each firmware (a CD also needs that
  // firmware's El Torito image). A missing store template is not needed: the store is then made
  // from scratch.
  [[nodiscard]] bool Bios(bool cd) const;
  [[nodiscard]] bool Uefi(bool cd) const;
  // What is missing for one firmware, for messages ("\Windows\Boot\PCAT\bootmgr").
  [[nodiscard]] std::vector<std::string> MissingFor(bool uefi, bool cd) const;
  // The same for a network boot: UEFI starts bootmgfw.efi, a PXE BIOS pxeboot.n12 and bootmgr.exe.
  [[nodiscard]] std::vector<std::string> MissingForNetwork(bool uefi) const;
};

// Reads every boot file the image has; a missing one stays empty (see MissingFor). The store
// template of one firmware stands in for the other's when only one is there: they differ only in
// the loader's path, which the media store sets. With neither, both stores are made from scratch.
// Errors: kCorrupt (wimlib cannot read the image).
[[nodiscard]] Result<BootFiles> ReadBootFiles(const image::ImageInfo& image);

// Where each file goes on a medium (Windows media's layout), Windows-style from its root.
namespace layout {
inline constexpr const char* kBootmgr = "\\bootmgr";
inline constexpr const char* kBiosStore = "\\boot\\bcd";
inline constexpr const char* kBootSdi = "\\boot\\boot.sdi";
inline constexpr const char* kEtfsboot = "\\boot\\etfsboot.com";
inline constexpr const char* kEfiBootManager = "\\efi\\boot\\bootx64.efi";
inline constexpr const char* kUefiStore = "\\efi\\microsoft\\boot\\bcd";
inline constexpr const char* kEfisys = "\\efi\\microsoft\\boot\\efisys.bin";
inline constexpr const char* kWim = "\\sources\\boot.wim";
}  // namespace layout

}  // namespace lifeboat::media
