#include "image/wim_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <wimlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <vector>

#include "common/sha256.h"
#include "image/wimlib_support.h"

namespace lifeboat::image {

namespace {

// Where WinPE media and WinRE images keep the files a RAM-disk boot needs.
constexpr std::array kWinloadEfiPaths = {"\\Windows\\System32\\boot\\winload.efi",
                                         "\\Windows\\System32\\winload.efi"};
constexpr std::array kWinloadExePaths = {"\\Windows\\System32\\boot\\winload.exe",
                                         "\\Windows\\System32\\winload.exe"};
constexpr std::array kBootSdiPaths = {"\\Windows\\Boot\\DVD\\EFI\\boot.sdi",
                                      "\\Windows\\Boot\\DVD\\PCAT\\boot.sdi",
                                      "\\Windows\\System32\\boot.sdi"};

// Where `lifeboatctl image build` puts its manifest, and how large one may be read.
constexpr const char* kBuildManifestPath = "\\Lifeboat\\build.json";
constexpr size_t kBuildManifestLimit = 16 << 20;

struct Found {
  bool exists = false;
  bool is_file = false;
};

int NoteFound(const wimlib_dir_entry* dentry, void* user) {
  auto* found = static_cast<Found*>(user);
  found->exists = true;
  found->is_file = (dentry->attributes & WIMLIB_FILE_ATTRIBUTE_DIRECTORY) == 0;
  return 0;
}

Result<bool> HasFile(const Wim& wim, int image, const char* path) {
  Found found;
  int rc = wimlib_iterate_dir_tree(wim.get(), image, path, 0, NoteFound, &found);
  if (rc == WIMLIB_ERR_PATH_DOES_NOT_EXIST) return false;
  if (rc != 0)
    return Fail(ErrorCode::kCorrupt, std::string("look up ") + path + ": " + WimError(rc));
  return found.exists && found.is_file;
}

// The bytes of one file of an open WIM's image, through a temporary folder.
Result<std::vector<uint8_t>> ExtractFile(const Wim& wim, int image, const std::string& wim_path,
                                         const std::string& path_in_image) {
  char temp[] = "/tmp/lifeboat-wim-XXXXXX";
  if (mkdtemp(temp) == nullptr) {
    return Fail(ErrorCode::kIo, std::string("make a temporary folder: ") + std::strerror(errno));
  }
  std::filesystem::path dir = temp;
  const char* paths[] = {path_in_image.c_str()};
  int rc =
      wimlib_extract_paths(wim.get(), image, temp, paths, 1,
                           WIMLIB_EXTRACT_FLAG_NO_PRESERVE_DIR_STRUCTURE |
                               WIMLIB_EXTRACT_FLAG_NO_ACLS | WIMLIB_EXTRACT_FLAG_NO_ATTRIBUTES);
  std::vector<uint8_t> bytes;
  std::string leaf = path_in_image.substr(path_in_image.find_last_of('\\') + 1);
  if (rc == 0) {
    std::ifstream in(dir / leaf, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (rc == WIMLIB_ERR_PATH_DOES_NOT_EXIST) {
    return Fail(ErrorCode::kNotFound, wim_path + " has no " + path_in_image);
  }
  if (rc != 0) {
    return Fail(ErrorCode::kCorrupt,
                "extract " + path_in_image + " from " + wim_path + ": " + WimError(rc));
  }
  return bytes;
}

template <size_t N>
Result<std::string> FirstPresent(const Wim& wim, int image,
                                 const std::array<const char*, N>& paths) {
  for (const char* p : paths) {
    auto has = HasFile(wim, image, p);
    LIFEBOAT_TRY(has);
    if (*has) return std::string(p);
  }
  return std::string();
}

struct Totals {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

int CountFile(const wimlib_dir_entry* dentry, void* user) {
  auto* totals = static_cast<Totals*>(user);
  if ((dentry->attributes & WIMLIB_FILE_ATTRIBUTE_DIRECTORY) == 0) {
    ++totals->files;
    totals->bytes += dentry->streams[0].resource.uncompressed_size;
  }
  return 0;
}

std::string FromTchar(const wimlib_tchar* s) { return s ? std::string(s) : std::string(); }

}  // namespace

const char* FirmwareName(Firmware firmware) {
  return firmware == Firmware::kUefi ? "uefi" : "bios";
}

namespace {

// The WIM header's resource headers, checked against the file before wimlib reads them: wimlib
// allocates what they announce (fuzzing found a 13 GB allocation for a 2 KB file), so a crafted or
// damaged header could exhaust the memory of an agent or the controller. Each resource must lie
// inside the file and expand plausibly, and the XML data (a few KiB in any real image) to at most
// 64 MiB.
Result<void> CheckWimHeader(const std::string& path, uint64_t file_size) {
  unsigned char h[208];
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Fail(ErrorCode::kIo, path + ": " + std::strerror(errno));
  const size_t n = std::fread(h, 1, sizeof h, f);
  std::fclose(f);
  if (n < sizeof h || std::memcmp(h, "MSWIM\0\0\0", 8) != 0) return {};  // wimlib says what it is
  auto u64 = [&](size_t at, int bytes) { return LittleEndian(h + at, bytes); };
  // wimlib allocates a slot per image the header counts (fuzzing: 788 million, 6.3 GB).
  if (const uint64_t images = u64(0x2C, 4); images > 65536) {
    return Fail(ErrorCode::kCorrupt,
                path + " is damaged: its header counts " + std::to_string(images) + " images");
  }
  // A resource header (24 bytes: stored size in 7, flags, offset, original size) must lie inside
  // the file and expand plausibly.
  auto check_resource = [&](const std::string& name, const unsigned char* r) -> Result<void> {
    auto field = [&](size_t at, int bytes) { return LittleEndian(r + at, bytes); };
    const uint64_t stored = field(0, 7), offset = field(8, 8), original = field(16, 8);
    // Absent only when it announces nothing: wimlib reads an integrity table whose offset is set
    // even if its stored size is 0, and allocates its original size (fuzzing: 3.5 GB).
    if (stored == 0 && original == 0) return {};
    if (offset > file_size || stored > file_size - offset) {
      return Fail(ErrorCode::kCorrupt, path + " is damaged: its header places the " + name +
                                           " at bytes " + std::to_string(offset) + "+" +
                                           std::to_string(stored) + ", beyond the file's " +
                                           std::to_string(file_size) + " bytes");
    }
    // An uncompressed resource is its own size; a compressed one (flag 0x04) expands, but
    // metadata never by more than 256 times.
    const bool compressed = (r[7] & 0x04) != 0;
    if ((!compressed && original != stored) || (compressed && original / 256 > stored)) {
      return Fail(ErrorCode::kCorrupt, path + " is damaged: its header says the " + name +
                                           " expands from " + std::to_string(stored) + " to " +
                                           std::to_string(original) + " bytes");
    }
    return {};
  };
  struct Resource {
    const char* name;
    size_t at;
  };
  for (const Resource& r : {Resource{"lookup table", 0x30}, Resource{"XML data", 0x48},
                            Resource{"boot metadata", 0x60}, Resource{"integrity table", 0x7C}}) {
    if (auto ok = check_resource(r.name, h + r.at); !ok) return ok;
  }
  if (const uint64_t xml = u64(0x48 + 16, 8); xml > (64ULL << 20)) {
    return Fail(ErrorCode::kCorrupt, path + " is damaged: its header announces " +
                                         std::to_string(xml) + " bytes of XML data");
  }
  // wimlib reads each image's metadata resource (named in the lookup table) whole into memory
  // (fuzzing: 4.3 GB, then 16 GB, announced by 1.4 KB files). The lookup table is checked entry by
  // entry: 50 bytes, the resource header first, metadata flagged 0x02. No WIM writer compresses
  // the lookup table, and wimlib reads it raw whatever its flag says (fuzzing: a table flagged
  // compressed went unchecked), so one that would need expanding is refused.
  {
    const uint64_t stored = u64(0x30, 7), offset = u64(0x30 + 8, 8), original = u64(0x30 + 16, 8);
    if (original != stored) {
      return Fail(ErrorCode::kCorrupt, path +
                                           " is damaged: its header says the lookup table "
                                           "is compressed, which no WIM writer does");
    }
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> table(stored);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(reinterpret_cast<char*>(table.data()), static_cast<std::streamsize>(stored)))
      return Fail(ErrorCode::kIo, path + ": cannot read its lookup table");
    for (size_t at = 0; at + 50 <= table.size(); at += 50) {
      const unsigned char* entry = table.data() + at;
      const bool metadata = (entry[7] & 0x02) != 0, solid = (entry[7] & 0x10) != 0;
      if (!metadata) continue;
      const std::string name =
          "metadata resource in lookup-table entry " + std::to_string(at / 50 + 1);
      if (!solid) {
        if (auto ok = check_resource(name, entry); !ok) return ok;
        continue;
      }
      // Inside a solid resource (flag 0x10) only the whole file bounds it.
      const uint64_t expanded = LittleEndian(entry + 16, 8);
      if (expanded / 256 > file_size) {
        return Fail(ErrorCode::kCorrupt, path + " is damaged: its header's " + name +
                                             " announces " + std::to_string(expanded) +
                                             " bytes in a file of " + std::to_string(file_size));
      }
    }
  }
  return {};
}

}  // namespace

Result<ImageInfo> CheckImage(const std::string& path, CheckDepth depth) {
  const bool full = depth == CheckDepth::kFull;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kUnsupported, path + " is not a regular file");
  LIFEBOAT_TRY(CheckWimHeader(path, static_cast<uint64_t>(st.st_size)));
  // The file's SHA-256 is taken on another core while wimlib reads it (the page cache serves
  // the second reader): the full check costs about its slower pass, not the sum of both.
  std::future<Result<std::string>> sha;
  if (full) sha = std::async(std::launch::async, [path] { return Sha256File(path); });

  Wim wim;
  LIFEBOAT_TRY(OpenWim(path, wim, /*check_integrity=*/full));
  wimlib_wim_info info{};
  wimlib_get_wim_info(wim.get(), &info);

  ImageInfo out;
  out.path = path;
  out.size = Bytes{static_cast<uint64_t>(st.st_size)};
  out.image_count = info.image_count;
  out.boot_index = info.boot_index;
  out.has_integrity_table = info.has_integrity_table;
  if (info.boot_index == 0) {
    return Fail(ErrorCode::kUnsupported, path +
                                             " has no bootable image (boot index 0); mark one with "
                                             "`wimlib-imagex info " +
                                             path + " <image> --boot`");
  }
  int image = static_cast<int>(info.boot_index);

  // Every resource against its SHA-1: the integrity table alone is optional in a WIM.
  if (int rc = full ? wimlib_verify_wim(wim.get(), 0) : 0; rc != 0) {
    return Fail(ErrorCode::kCorrupt, path + " is damaged: " + WimError(rc));
  }

  out.name = FromTchar(wimlib_get_image_name(wim.get(), image));
  out.description = FromTchar(wimlib_get_image_description(wim.get(), image));
  out.architecture = ArchitectureName(wimlib_get_image_property(wim.get(), image, "WINDOWS/ARCH"));

  auto efi = FirstPresent(wim, image, kWinloadEfiPaths);
  if (!efi) return std::unexpected(efi.error().Context(path));
  auto exe = FirstPresent(wim, image, kWinloadExePaths);
  if (!exe) return std::unexpected(exe.error().Context(path));
  auto sdi = FirstPresent(wim, image, kBootSdiPaths);
  if (!sdi) return std::unexpected(sdi.error().Context(path));
  out.winload_efi = *efi;
  out.winload_exe = *exe;
  out.boot_sdi = *sdi;
  if (out.winload_efi.empty() && out.winload_exe.empty()) {
    return Fail(ErrorCode::kUnsupported,
                path + ": boot image " + std::to_string(image) +
                    " has no winload.efi or winload.exe in \\Windows\\System32\\boot or "
                    "\\Windows\\System32; it cannot be booted from a RAM disk");
  }
  if (out.boot_sdi.empty()) {
    return Fail(ErrorCode::kUnsupported,
                path + ": boot image " + std::to_string(image) +
                    " has no boot.sdi in \\Windows\\Boot\\DVD\\EFI or \\Windows\\Boot\\DVD\\PCAT; "
                    "a RAM-disk boot needs it");
  }

  if (auto has = HasFile(wim, image, kBuildManifestPath); !has) {
    return std::unexpected(has.error().Context(path));
  } else if (*has) {
    auto text = ExtractFile(wim, image, path, kBuildManifestPath);
    if (!text) return std::unexpected(text.error());
    if (text->size() > kBuildManifestLimit)
      return Fail(ErrorCode::kUnsupported, path + ": " + kBuildManifestPath + " is larger than " +
                                               std::to_string(kBuildManifestLimit) + " bytes");
    out.build_manifest.assign(text->begin(), text->end());
  }

  Totals totals;
  if (int rc = wimlib_iterate_dir_tree(wim.get(), image, "", WIMLIB_ITERATE_DIR_TREE_FLAG_RECURSIVE,
                                       CountFile, &totals);
      rc != 0) {
    return Fail(ErrorCode::kCorrupt, path + ": list files: " + WimError(rc));
  }
  out.file_count = totals.files;
  out.expanded_size = totals.bytes;

  if (!full) return out;
  auto sha256 = sha.get();
  LIFEBOAT_TRY(sha256);
  out.sha256 = *sha256;
  return out;
}

// The image was checked as deeply as its caller wanted when it was opened; the integrity table is
// not read again (a pass over the whole file per file taken), and wimlib checks the SHA-1 of
// what it extracts.
Result<std::vector<uint8_t>> ReadImageFile(const ImageInfo& image,
                                           const std::string& path_in_image) {
  Wim wim;
  LIFEBOAT_TRY(OpenWim(image.path, wim, /*check_integrity=*/false));
  return ExtractFile(wim, static_cast<int>(image.boot_index), image.path, path_in_image);
}

Result<std::map<std::string, std::vector<uint8_t>>> ReadImageFiles(
    const ImageInfo& image, const std::vector<std::string>& paths_in_image) {
  Wim wim;
  LIFEBOAT_TRY(OpenWim(image.path, wim, /*check_integrity=*/false));
  const int index = static_cast<int>(image.boot_index);
  std::vector<std::string> present;
  for (const auto& path : paths_in_image) {
    auto has = HasFile(wim, index, path.c_str());
    if (!has) return std::unexpected(has.error().Context(image.path));
    if (*has) present.push_back(path);
  }
  std::map<std::string, std::vector<uint8_t>> files;
  if (present.empty()) return files;
  char temp[] = "/tmp/lifeboat-wim-XXXXXX";
  if (mkdtemp(temp) == nullptr)
    return Fail(ErrorCode::kIo, std::string("make a temporary folder: ") + std::strerror(errno));
  const std::filesystem::path dir = temp;
  std::vector<const char*> paths;
  for (const auto& path : present) paths.push_back(path.c_str());
  // Folders kept: two files may share a name (\Windows\Boot\DVD\EFI\BCD and ...\PCAT\BCD).
  const int rc =
      wimlib_extract_paths(wim.get(), index, temp, paths.data(), paths.size(),
                           WIMLIB_EXTRACT_FLAG_NO_ACLS | WIMLIB_EXTRACT_FLAG_NO_ATTRIBUTES);
  if (rc == 0) {
    for (const auto& path : present) {
      std::string relative = path.substr(1);
      std::replace(relative.begin(), relative.end(), '\\', '/');
      std::ifstream in(dir / relative, std::ios::binary);
      files[path].assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (rc != 0)
    return Fail(ErrorCode::kCorrupt, "extract boot files from " + image.path + ": " + WimError(rc));
  return files;
}

namespace {

int NoteName(const wimlib_dir_entry* dentry, void* user) {
  auto* names = static_cast<std::vector<std::string>*>(user);
  std::string name = FromTchar(dentry->filename);
  if (dentry->attributes & WIMLIB_FILE_ATTRIBUTE_DIRECTORY) name += '\\';
  names->push_back(std::move(name));
  return 0;
}

}  // namespace

Result<std::vector<std::string>> ListImageFolder(const ImageInfo& image,
                                                 const std::string& folder) {
  Wim wim;
  LIFEBOAT_TRY(OpenWim(image.path, wim, /*check_integrity=*/false));
  std::vector<std::string> names;
  const int rc =
      wimlib_iterate_dir_tree(wim.get(), static_cast<int>(image.boot_index), folder.c_str(),
                              WIMLIB_ITERATE_DIR_TREE_FLAG_CHILDREN, NoteName, &names);
  if (rc == WIMLIB_ERR_PATH_DOES_NOT_EXIST)
    return Fail(ErrorCode::kNotFound, image.path + " has no " + folder);
  if (rc != 0)
    return Fail(ErrorCode::kCorrupt, image.path + ": list " + folder + ": " + WimError(rc));
  return names;
}

}  // namespace lifeboat::image
