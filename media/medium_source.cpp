#include "media/medium_source.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/image_manifest.h"
#include "compose/image_contents.h"
#include "media/media_store.h"

namespace lifeboat::media {

namespace fs = std::filesystem;

const char* FirmwareChoiceName(FirmwareChoice choice) {
  switch (choice) {
    case FirmwareChoice::kBoth:
      return "both";
    case FirmwareChoice::kUefi:
      return "uefi";
    case FirmwareChoice::kBios:
      return "bios";
  }
  return "?";
}

std::string StagedPath(const std::string& root, const std::string& medium_path) {
  std::string relative = medium_path.substr(1);
  std::replace(relative.begin(), relative.end(), '\\', '/');
  return root + "/" + relative;
}

Result<MediumSource> ReadMediumSource(const std::string& wim, const std::string& version,
                                      FirmwareChoice firmware, MediumKind kind, bool full_check) {
  MediumSource source;
  auto image =
      image::CheckImage(wim, full_check ? image::CheckDepth::kFull : image::CheckDepth::kMetadata);
  if (!image) return std::unexpected(image.error());
  LIFEBOAT_TRY(compose::RefuseExpired(*image, TodayUtc(std::chrono::system_clock::now()),
                                      "no medium is made from it, and nothing was written"));
  source.image = *image;
  source.version = version;
  source.description =
      (image->name.empty() ? std::string("Lifeboat") : image->name) + " " + version;
  auto boot = ReadBootFiles(*image);
  if (!boot) return std::unexpected(boot.error());
  source.boot = std::move(*boot);

  const bool want_bios = firmware != FirmwareChoice::kUefi;
  const bool want_uefi = firmware != FirmwareChoice::kBios;
  std::vector<std::string> missing;
  for (bool uefi : {false, true}) {
    if (uefi ? !want_uefi : !want_bios) continue;
    auto lacking = kind == MediumKind::kNetwork
                       ? source.boot.MissingForNetwork(uefi)
                       : source.boot.MissingFor(uefi, kind == MediumKind::kCd);
    if (uefi && image->winload_efi.empty())
      lacking.push_back("\\Windows\\System32\\boot\\winload.efi");
    if (!uefi && image->winload_exe.empty())
      lacking.push_back("\\Windows\\System32\\boot\\winload.exe");
    for (const auto& file : lacking)
      missing.push_back(std::string(uefi ? "UEFI" : "BIOS") + " needs " + file);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
    return Fail(ErrorCode::kUnsupported,
                wim + " cannot boot from this medium: " + list +
                    (firmware == FirmwareChoice::kBoth
                         ? " (for one firmware only, choose it with --firmware uefi or bios)"
                         : ""));
  }
  source.bios = want_bios;
  source.uefi = want_uefi;
  return source;
}

Result<std::vector<std::string>> StageBootTree(const MediumSource& source, const std::string& root,
                                               bool cd) {
  std::vector<std::string> written;
  auto put = [&](const std::string& medium_path,
                 const std::vector<uint8_t>& bytes) -> Result<void> {
    const std::string path = StagedPath(root, medium_path);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot make " + fs::path(path).parent_path().string());
    // Staged, not kept: the medium is flushed whole once it is written.
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return Fail(ErrorCode::kIo, "write " + path);
    written.push_back(medium_path);
    return {};
  };
  auto store = [&](const std::string& medium_path, const std::vector<uint8_t>& template_store,
                   const std::string& winload) -> Result<void> {
    const std::string path = StagedPath(root, medium_path);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot make " + fs::path(path).parent_path().string());
    bcd::MediaEntrySpec spec;
    spec.description = source.description;
    spec.winload = winload;
    LIFEBOAT_TRY(WriteMediaStore(template_store, spec, path));
    written.push_back(medium_path);
    return {};
  };
  LIFEBOAT_TRY(put(layout::kBootSdi, source.boot.boot_sdi));
  if (source.bios) {
    LIFEBOAT_TRY(put(layout::kBootmgr, source.boot.bootmgr));
    LIFEBOAT_TRY(store(layout::kBiosStore, source.boot.bcd_bios, source.image.winload_exe));
    if (cd) LIFEBOAT_TRY(put(layout::kEtfsboot, source.boot.etfsboot));
  }
  if (source.uefi) {
    LIFEBOAT_TRY(put(layout::kEfiBootManager, source.boot.bootmgr_efi));
    LIFEBOAT_TRY(store(layout::kUefiStore, source.boot.bcd_uefi, source.image.winload_efi));
    if (cd) LIFEBOAT_TRY(put(layout::kEfisys, source.boot.efisys));
  }
  return written;
}

}  // namespace lifeboat::media
