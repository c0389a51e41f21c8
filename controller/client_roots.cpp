#include "controller/client_roots.h"

#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

// The first files the firmware loads (packaging/dnsmasq-lifeboat.conf's pxe-service lines; dnsmasq
// adds ".0" to the BIOS one) and the folders they are in.
constexpr const char* kUefiFirst = "uefi/bootx64.efi";
constexpr const char* kBiosFirst = "bios/lifeboat.0";
constexpr const char* kRestartCfg = "restart.cfg";

std::vector<std::string> FilesOf(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (!entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string ClientRootName(const std::string& mac) {
  std::string name = mac;
  std::replace(name.begin(), name.end(), ':', '-');
  return name;
}

bool IsClientRootName(const std::string& name) {
  static const std::regex kName("[0-9a-f]{2}(-[0-9a-f]{2}){5}");
  return std::regex_match(name, kName);
}

std::map<std::string, std::string> ClientRootLinks(const ClientRootSpec& spec,
                                                   const SharedTree& shared) {
  std::map<std::string, std::string> links;
  for (const auto& entry : shared.top)
    if (entry != "uefi" && entry != "bios" && entry != "Boot") links[entry] = "../" + entry;
  for (const auto& file : shared.uefi) links["uefi/" + file] = "../../uefi/" + file;
  for (const auto& file : shared.bios) links["bios/" + file] = "../../bios/" + file;
  const std::string folder_from_top = "../" + spec.folder;
  const std::string folder_from_sub = "../../" + spec.folder;
  if (spec.uefi && spec.boot_managers) links[kUefiFirst] = folder_from_sub + "/bootmgfw.efi";
  if (spec.bios) {
    if (spec.boot_managers) links[kBiosFirst] = folder_from_sub + "/pxeboot.n12";
    links["bios/bootmgr.exe"] = folder_from_sub + "/bootmgr.exe";
  }
  // GRUB restarts a machine that chose the site-wide entry through this file, which exists in its
  // client root only (controller/site_entry.h).
  if (spec.boot_managers && (spec.uefi || spec.bios)) links[kRestartCfg] = "../lifeboat/restart.cfg";
  // Both boot managers read \Boot\BCD; until the machine shows which it is, UEFI's.
  const bool bios_store = spec.bios && (!spec.uefi || spec.bios_store);
  if (spec.uefi || spec.bios)
    links["Boot"] = folder_from_top + (bios_store ? "/Boot" : "/EFI/Microsoft/Boot");
  return links;
}

Result<SharedTree> ClientRoots::ListShared() const {
  SharedTree shared;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || IsClientRootName(name)) continue;
    shared.top.push_back(name);
  }
  if (ec) return Fail(ErrorCode::kIo, "cannot list " + dir_ + ": " + ec.message());
  std::sort(shared.top.begin(), shared.top.end());
  shared.uefi = FilesOf(fs::path(dir_) / "uefi");
  shared.bios = FilesOf(fs::path(dir_) / "bios");
  return shared;
}

Result<void> ClientRoots::RemoveAll() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool leftover = name.starts_with(".client-") && name.ends_with(".new");
    if (IsClientRootName(name) || leftover) fs::remove_all(entry.path(), ec);
    if (ec)
      return Fail(ErrorCode::kIo, "cannot remove " + entry.path().string() + ": " + ec.message());
  }
  return {};
}

Result<void> ClientRoots::Set(const std::vector<std::string>& macs, const ClientRootSpec& spec) {
  auto shared = ListShared();
  LIFEBOAT_TRY(shared);
  const auto links = ClientRootLinks(spec, *shared);
  for (const auto& mac : macs) {
    const fs::path root = fs::path(dir_) / ClientRootName(mac);
    const fs::path staged = fs::path(dir_) / (".client-" + ClientRootName(mac) + ".new");
    std::error_code ec;
    fs::remove_all(staged, ec);
    fs::create_directories(staged / "uefi", ec);
    if (!ec) fs::create_directories(staged / "bios", ec);
    for (const auto& [path, target] : links) {
      if (ec) break;
      fs::create_symlink(target, staged / path, ec);
    }
    if (ec) {
      fs::remove_all(staged, ec);
      return Fail(ErrorCode::kIo,
                  "cannot write the client root " + staged.string() + ": " + ec.message());
    }
    // One rename: a new root, or the old and new exchanged (the old is then at the staged name).
    const bool existed = fs::exists(root, ec);
    const int renamed =
        existed ? renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, root.c_str(), RENAME_EXCHANGE)
                : rename(staged.c_str(), root.c_str());
    if (renamed != 0) {
      const std::string why = std::strerror(errno);
      fs::remove_all(staged, ec);
      return Fail(ErrorCode::kIo,
                  "cannot put the client root " + root.string() + " in place: " + why);
    }
    fs::remove_all(staged, ec);
  }
  return {};
}

void ClientRoots::Remove(const std::vector<std::string>& macs) {
  for (const auto& mac : macs) {
    std::error_code ec;
    fs::remove_all(fs::path(dir_) / ClientRootName(mac), ec);
  }
}

}  // namespace lifeboat::controller
