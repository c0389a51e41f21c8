#include "media/network_tree.h"

#include <cctype>
#include <filesystem>
#include <fstream>

#include "common/temporary_folder.h"
#include "media/media_store.h"

namespace lifeboat::media {

namespace fs = std::filesystem;

namespace {

// A path the BCD stores carry and a TFTP server resolves: nothing a store or a server could read
// as more than one path.
bool PlainServedPath(const std::string& path) {
  if (path.size() < 2 || path[0] != '\\' || path.back() == '\\') return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (path[i + 1] == '\\' || path[i + 1] == '.') return false;  // no empty or dot segments
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

Result<void> WriteBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) return Fail(ErrorCode::kIo, "write " + path.string());
  return {};
}

}  // namespace

Result<NetworkTree> WriteNetworkTree(const MediumSource& source,
                                     const NetworkTreeRequest& request) {
  if (!PlainServedPath(request.served_as))
    return Fail(ErrorCode::kInvalidArgument,
                "the served path " + request.served_as +
                    " is not a \\-rooted path of letters, digits, '.', '_' and '-'");
  std::error_code ec;
  if (fs::exists(request.folder, ec))
    return Fail(ErrorCode::kAlreadyExists, request.folder + " exists");
  fs::create_directories(fs::path(request.folder).parent_path(), ec);
  auto staging = TemporaryFolder::Beside(request.folder, "network");
  if (!staging) return std::unexpected(staging.error());
  const fs::path root = staging->path();

  NetworkTree tree;
  auto put = [&](const std::string& name, const std::vector<uint8_t>& bytes) -> Result<void> {
    LIFEBOAT_TRY(WriteBytes(root / name, bytes));
    tree.files.push_back(name);
    return {};
  };
  auto store = [&](const std::string& name, const std::vector<uint8_t>& template_store,
                   const std::string& winload) -> Result<void> {
    fs::create_directories((root / name).parent_path(), ec);
    bcd::MediaEntrySpec spec;
    spec.description = source.description;
    spec.winload = winload;
    spec.wim_path = request.served_as + "\\boot.wim";
    spec.sdi_path = request.served_as + "\\boot.sdi";
    spec.tftp_block_size = request.tftp_block_size;
    LIFEBOAT_TRY(WriteMediaStore(template_store, spec, (root / name).string()));
    tree.files.push_back(name);
    return {};
  };
  LIFEBOAT_TRY(put("boot.sdi", source.boot.boot_sdi));
  if (source.uefi) {
    LIFEBOAT_TRY(put("bootmgfw.efi", source.boot.bootmgr_efi));
    LIFEBOAT_TRY(store("EFI/Microsoft/Boot/BCD", source.boot.bcd_uefi, source.image.winload_efi));
  }
  if (source.bios) {
    LIFEBOAT_TRY(put("pxeboot.n12", source.boot.pxeboot));
    LIFEBOAT_TRY(put("bootmgr.exe", source.boot.bootmgr_pxe));
    LIFEBOAT_TRY(store("Boot/BCD", source.boot.bcd_bios, source.image.winload_exe));
  }
  // A published image is never written again: a link is the same bytes without a copy. Linked only
  // when everyone may read it (a TFTP server runs as its own user), as the copy then is.
  const auto mode = fs::status(source.image.path, ec).permissions();
  const bool readable = !ec && (mode & fs::perms::others_read) != fs::perms::none;
  if (readable) fs::create_hard_link(source.image.path, root / "boot.wim", ec);
  if (!readable || ec) {
    ec.clear();
    fs::copy_file(source.image.path, root / "boot.wim", ec);
    if (ec)
      return Fail(ErrorCode::kIo, "copy " + source.image.path + " to " +
                                      (root / "boot.wim").string() + ": " + ec.message());
  }
  tree.files.push_back("boot.wim");
  for (const auto& entry : fs::recursive_directory_iterator(root, ec))
    if (entry.path() != root / "boot.wim" || !readable)  // a link's mode is the image's own
      fs::permissions(entry.path(), entry.is_directory() ? fs::perms(0755) : fs::perms(0644), ec);
  fs::permissions(root, fs::perms(0755), ec);
  fs::rename(root, request.folder, ec);
  if (ec)
    return Fail(ErrorCode::kIo,
                "rename " + root.string() + " to " + request.folder + ": " + ec.message());
  tree.uefi = source.uefi;
  tree.bios = source.bios;
  return tree;
}

}  // namespace lifeboat::media
