#include "media/boot_files.h"

#include <algorithm>
#include <cctype>

namespace lifeboat::media {

namespace {

constexpr const char* kBootmgrPath = "\\Windows\\Boot\\PCAT\\bootmgr";
constexpr const char* kEtfsbootPath = "\\Windows\\Boot\\DVD\\PCAT\\etfsboot.com";
constexpr const char* kBiosTemplatePath = "\\Windows\\Boot\\DVD\\PCAT\\BCD";
constexpr const char* kBootmgfwPath = "\\Windows\\Boot\\EFI\\bootmgfw.efi";
constexpr const char* kUefiTemplatePath = "\\Windows\\Boot\\DVD\\EFI\\BCD";
constexpr const char* kDvdEfiFolder = "\\Windows\\Boot\\DVD\\EFI";
constexpr const char* kPxebootPath = "\\Windows\\Boot\\PXE\\pxeboot.n12";
constexpr const char* kPxeBootmgrPath = "\\Windows\\Boot\\PXE\\bootmgr.exe";

// efisys_noprompt.bin (boots without "Press any key", as a recovery medium should) or else
// efisys.bin, from the locale folders under \Windows\Boot\DVD\EFI; en-US first.
Result<std::string> EfisysPath(const image::ImageInfo& image) {
  auto names = image::ListImageFolder(image, kDvdEfiFolder);
  if (!names && names.error().code == ErrorCode::kNotFound) return std::string();
  if (!names) return std::unexpected(names.error());
  std::vector<std::string> locales;
  for (const auto& name : *names)
    if (!name.empty() && name.back() == '\\') locales.push_back(name.substr(0, name.size() - 1));
  std::stable_partition(locales.begin(), locales.end(),
                        [](const std::string& l) { return l == "en-US" || l == "en-us"; });
  for (const char* file : {"efisys_noprompt.bin", "efisys.bin"}) {
    for (const auto& locale : locales) {
      auto inside = image::ListImageFolder(image, std::string(kDvdEfiFolder) + "\\" + locale);
      if (!inside) continue;
      for (const auto& name : *inside)
        if (name.size() == std::string(file).size() &&
            std::equal(name.begin(), name.end(), file, [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
          return std::string(kDvdEfiFolder) + "\\" + locale + "\\" + name;
    }
  }
  return std::string();
}

}  // namespace

bool BootFiles::Bios(bool cd) const { return MissingFor(false, cd).empty(); }
bool BootFiles::Uefi(bool cd) const { return MissingFor(true, cd).empty(); }

std::vector<std::string> BootFiles::MissingFor(bool uefi, bool cd) const {
  std::vector<std::string> missing;
  if (uefi) {
    if (bootmgr_efi.empty()) missing.push_back(kBootmgfwPath);
    if (cd && efisys.empty())
      missing.push_back(std::string(kDvdEfiFolder) + "\\<locale>\\efisys_noprompt.bin");
  } else {
    if (bootmgr.empty()) missing.push_back(kBootmgrPath);
    if (cd && etfsboot.empty()) missing.push_back(kEtfsbootPath);
  }
  return missing;
}

std::vector<std::string> BootFiles::MissingForNetwork(bool uefi) const {
  std::vector<std::string> missing;
  if (uefi && bootmgr_efi.empty()) missing.push_back(kBootmgfwPath);
  if (!uefi && pxeboot.empty()) missing.push_back(kPxebootPath);
  if (!uefi && bootmgr_pxe.empty()) missing.push_back(kPxeBootmgrPath);
  return missing;
}

Result<BootFiles> ReadBootFiles(const image::ImageInfo& image) {
  auto efisys = EfisysPath(image);
  if (!efisys) return std::unexpected(efisys.error());
  std::vector<std::string> paths = {image.boot_sdi,    kBootmgrPath,   kEtfsbootPath,
                                    kBiosTemplatePath, kBootmgfwPath,  kUefiTemplatePath,
                                    kPxebootPath,      kPxeBootmgrPath};
  if (!efisys->empty()) paths.push_back(*efisys);
  auto read = image::ReadImageFiles(image, paths);
  if (!read) return std::unexpected(read.error());
  auto take = [&](const std::string& path) {
    auto it = read->find(path);
    return it == read->end() ? std::vector<uint8_t>{} : std::move(it->second);
  };
  BootFiles files;
  files.boot_sdi = take(image.boot_sdi);
  files.bootmgr = take(kBootmgrPath);
  files.etfsboot = take(kEtfsbootPath);
  files.bcd_bios = take(kBiosTemplatePath);
  files.bootmgr_efi = take(kBootmgfwPath);
  files.bcd_uefi = take(kUefiTemplatePath);
  files.pxeboot = take(kPxebootPath);
  files.bootmgr_pxe = take(kPxeBootmgrPath);
  if (!efisys->empty()) {
    files.efisys_path = *efisys;
    files.efisys = take(*efisys);
  }
  if (files.bcd_bios.empty()) files.bcd_bios = files.bcd_uefi;
  if (files.bcd_uefi.empty()) files.bcd_uefi = files.bcd_bios;
  return files;
}

}  // namespace lifeboat::media
