#include "media/iso_medium.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>

#include "common/process.h"
#include "common/temporary_folder.h"
#include "common/writeback.h"

namespace lifeboat::media {

namespace fs = std::filesystem;

namespace {

// "\boot\etfsboot.com" → "/boot/etfsboot.com", as xorriso names paths inside the ISO.
std::string IsoPath(const std::string& medium_path) {
  std::string p = medium_path;
  std::replace(p.begin(), p.end(), '\\', '/');
  return p;
}

// xorriso's own account of the boot catalog: each image's platform, emulation, load size, path.
Result<void> CheckBootCatalog(const std::string& iso, const MediumSource& source) {
  auto report = RunChecked({"xorriso", "-indev", "stdio:" + iso, "-report_el_torito", "plain"});
  if (!report) return std::unexpected(report.error());
  const std::string& text = report->out;
  auto has = [&](const std::string& pattern) {
    return std::regex_search(text, std::regex(pattern, std::regex::multiline));
  };
  std::string wrong;
  if (source.bios && (!has(R"(El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+\S+\s+\S+\s+8\s)") ||
                      !has(R"(El Torito img path :\s+1\s+/boot/etfsboot\.com$)")))
    wrong = "no BIOS no-emulation image /boot/etfsboot.com loading 8 sectors";
  const std::string n = source.bios ? "2" : "1";
  if (source.uefi &&
      (!has(R"(El Torito boot img :\s+)" + n + R"(\s+UEFI\s+y\s+none\s)") ||
       !has(R"(El Torito img path :\s+)" + n + R"(\s+/efi/microsoft/boot/efisys\.bin$)")))
    wrong = "no UEFI image /efi/microsoft/boot/efisys.bin";
  if (!wrong.empty())
    return Fail(ErrorCode::kCorrupt,
                iso + ": xorriso wrote a boot catalog with " + wrong + ":\n" + text);
  return {};
}

}  // namespace

std::string DefaultVolumeId(const std::string& version) {
  std::string id = "LIFEBOAT_";
  for (char c : version) {
    const char up = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    id += (std::isalnum(static_cast<unsigned char>(up)) ? up : '_');
  }
  return id.substr(0, 32);
}

Result<IsoResult> WriteIso(const MediumSource& source, const IsoRequest& request) {
  auto say = [&](const std::string& line) {
    if (request.say) request.say(line);
  };
  const fs::path target = fs::absolute(request.out);
  auto made = TemporaryFolder::Beside(request.out, "media");
  if (!made) return std::unexpected(made.error());
  const TemporaryFolder staging = std::move(*made);
  const std::string root = staging.path() + "/tree";
  fs::create_directory(root);

  IsoResult result;
  result.out = request.out;
  result.bios = source.bios;
  result.uefi = source.uefi;
  result.volume_id =
      request.volume_id.empty() ? DefaultVolumeId(source.version) : request.volume_id;
  say("writing the boot files and BCD stores");
  auto files = StageBootTree(source, root, /*cd=*/true);
  if (!files) return std::unexpected(files.error());
  result.files = *files;
  result.files.push_back(layout::kWim);

  // The WIM is grafted from where it is: xorriso reads it once, into the ISO. The output is named
  // "stdio:PATH", a plain file: xorriso otherwise takes a path under /dev (an ISO written to
  // /dev/shm) for a drive and refuses it.
  const std::string iso = staging.path() + "/medium.iso";
  std::vector<std::string> argv = {"xorriso",
                                   "-as",
                                   "mkisofs",
                                   "-iso-level",
                                   "3",
                                   "-full-iso9660-filenames",
                                   "-J",
                                   "-joliet-long",
                                   "-V",
                                   result.volume_id,
                                   "-o",
                                   "stdio:" + iso,
                                   "--boot-catalog-hide"};
  if (source.bios)
    argv.insert(argv.end(), {"-b", IsoPath(layout::kEtfsboot).substr(1), "-no-emul-boot",
                             "-boot-load-size", "8"});
  if (source.uefi) {
    if (source.bios) argv.push_back("-eltorito-alt-boot");
    argv.insert(argv.end(), {"-e", IsoPath(layout::kEfisys).substr(1), "-no-emul-boot"});
  }
  argv.insert(argv.end(),
              {"-graft-points", IsoPath(layout::kWim) + "=" + source.image.path, "/=" + root});
  say("mastering " + request.out + " with xorriso");
  const uint64_t total = source.image.size.value;
  static const std::regex kPercent(R"(([0-9.]+)% done)");
  // The disk writes the ISO while xorriso makes it; the fsync below waits for the tail only.
  std::optional<BackgroundWriteback> writeback(std::in_place, iso);
  auto mastered = RunProcess(argv, "", [&](const std::string& line) {
    std::smatch m;
    if (request.progress && std::regex_search(line, m, kPercent))
      request.progress(static_cast<uint64_t>(std::stod(m[1]) / 100.0 * static_cast<double>(total)),
                       total);
  });
  writeback.reset();
  if (!mastered) return std::unexpected(mastered.error());
  if (mastered->exit_code != 0) return Fail(ErrorCode::kTool, mastered->Summary("xorriso"));
  if (request.progress) request.progress(total, total);
  LIFEBOAT_TRY(CheckBootCatalog(iso, source));

  if (const int fd = open(iso.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    const int rc = fsync(fd);
    close(fd);
    if (rc != 0) return Fail(ErrorCode::kIo, "flush " + iso + ": " + std::strerror(errno));
  }
  std::error_code ec;
  result.size = fs::file_size(iso, ec);
  if (std::rename(iso.c_str(), request.out.c_str()) != 0)
    return Fail(ErrorCode::kIo, "rename the ISO to " + request.out + ": " + std::strerror(errno));
  if (const int dir = open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return result;
}

}  // namespace lifeboat::media
