#include "controller/recovery_sessions.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/files.h"
#include "common/pki.h"
#include "media/iso_medium.h"
#include "media/network_tree.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUefiLoader = "bootmgfw.efi";
constexpr const char* kBiosLoader = "pxeboot.n12";
constexpr const char* kIsoFile = "recovery.iso";
// The folders of the boot's two stores are watched too, under the token and these suffixes: a boot
// manager reading its store is a boot under way.
const std::vector<std::pair<std::string, std::string>> kStoreFolders = {
    {"/uefi-store", "EFI/Microsoft/Boot"}, {"/bios-store", "Boot"}};

}  // namespace

std::string RenderRecoveryBootCfg(const RecoverySession& session) {
  const std::string folder = "/" + RecoverySessions::Folder(session.token);
  const std::string whose =
      session.machine_id.empty() ? "the site-wide entry's" : "machine " + session.machine_id + "'s";
  std::string cfg = "# Written by lifeboat-controller: " + whose +
                    " network recovery boot of version " + session.version +
                    " (controller/recovery_sessions.h).\n"
                    "echo \"lifeboat-netboot: starting the recovery image " +
                    session.version + " from the network\"\n";
  if (!session.iso_url.empty())
    // iPXE runs its command line as a script. GRUB quotes an argument that holds a space, so
    // each word is one argument, and "&&" is quoted from GRUB's own parser.
    cfg += "if [ \"$grub_platform\" = pc ]; then\n  linux16 /bios/ipxe.lkrn dhcp '&&' sanboot " +
           session.iso_url + "\n  boot\nfi\n";
  if (session.uefi && session.iso_url.empty())
    cfg += "if [ \"$grub_platform\" = efi ]; then\n  chainloader " + folder + "/" + kUefiLoader +
           "\n  boot\nfi\n";
  if (session.bios && session.iso_url.empty())
    cfg += "if [ \"$grub_platform\" = pc ]; then\n  pxechainloader " + folder + "/" + kBiosLoader +
           "\n  boot\nfi\n";
  cfg +=
      "echo \"lifeboat-netboot: the recovery image did not start on this machine\"\n"
      "source /lifeboat/local.cfg\n";
  return cfg;
}

std::string RecoverySessions::Folder(const std::string& token) {
  return "lifeboat/recovery/" + token;
}

Result<std::unique_ptr<RecoverySessions>> RecoverySessions::Start(const std::string& netboot_dir,
                                                                  Started started) {
  const fs::path recovery = fs::path(netboot_dir) / "lifeboat/recovery";
  std::error_code ec;
  fs::remove_all(recovery, ec);
  fs::create_directories(recovery, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot make " + recovery.string() + ": " + ec.message());
  std::unique_ptr<RecoverySessions> sessions(new RecoverySessions(netboot_dir, std::move(started)));
  LIFEBOAT_TRY(sessions->client_roots_.RemoveAll());
  auto watch =
      OpenWatch::Start([raw = sessions.get()](const std::string& token, const std::string& file) {
        raw->Opened(token, file);
      });
  if (!watch) return std::unexpected(watch.error());
  sessions->watch_ = std::move(*watch);
  return sessions;
}

RecoverySessions::RecoverySessions(std::string netboot_dir, Started started)
    : netboot_dir_(std::move(netboot_dir)),
      started_(std::move(started)),
      client_roots_(netboot_dir_) {}

RecoverySessions::~RecoverySessions() { watch_.reset(); }  // its thread calls Opened

Result<RecoverySession> RecoverySessions::Open(const std::string& machine_id,
                                               const std::vector<std::string>& macs,
                                               const media::MediumSource& source) {
  RecoverySession session{RandomHex(16), machine_id, source.version, source.uefi,
                          source.bios,   macs,       false,          false};
  // A shared session never gives the firmware its boot managers: its machines run GRUB already.
  session.released = machine_id.empty();
  const fs::path folder = fs::path(netboot_dir_) / Folder(session.token);
  std::string served_as = "\\" + Folder(session.token);
  std::replace(served_as.begin(), served_as.end(), '/', '\\');
  auto tree = media::WriteNetworkTree(source, {folder.string(), served_as});
  if (!tree) return std::unexpected(tree.error());
  LIFEBOAT_TRY(
      WriteFileAtomically((folder / "boot.cfg").string(), RenderRecoveryBootCfg(session), 0644));
  {
    std::lock_guard lock(mutex_);
    sessions_[session.token] = session;
  }
  auto watched = watch_->Add(session.token, folder.string());
  for (const auto& [suffix, store] : kStoreFolders)
    if (watched && fs::is_directory(folder / store))
      watched = watch_->Add(session.token + suffix, (folder / store).string());
  if (!watched) {
    Close(session.token);
    return std::unexpected(watched.error());
  }
  Result<void> rooted;
  {
    std::lock_guard lock(mutex_);
    for (const auto& mac : macs) root_owner_[mac] = session.token;
    rooted =
        client_roots_.Set(macs, {Folder(session.token), session.uefi, session.bios, true, false});
  }
  if (!rooted) {
    Close(session.token);
    return std::unexpected(rooted.error());
  }
  return session;
}

Result<RecoverySession> RecoverySessions::OpenIso(const std::string& machine_id,
                                                  const media::MediumSource& source,
                                                  const std::string& http_address) {
  // No client roots to give back: "released" from the start.
  RecoverySession session{RandomHex(16), machine_id, source.version, false, source.bios, {}, false,
                          false,         true};
  session.iso_url = "http://" + http_address + "/" + Folder(session.token) + "/" + kIsoFile;
  const fs::path folder = fs::path(netboot_dir_) / Folder(session.token);
  auto written = [&]() -> Result<void> {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot make " + folder.string() + ": " + ec.message());
    LIFEBOAT_TRY(media::WriteIso(source, {(folder / kIsoFile).string(), "", nullptr, nullptr}));
    return WriteFileAtomically((folder / "boot.cfg").string(), RenderRecoveryBootCfg(session),
                               0644);
  }();
  if (!written) {
    std::error_code ec;
    fs::remove_all(folder, ec);
    return std::unexpected(written.error());
  }
  {
    std::lock_guard lock(mutex_);
    sessions_[session.token] = session;
  }
  if (auto watched = watch_->Add(session.token, folder.string()); !watched) {
    Close(session.token);
    return std::unexpected(watched.error());
  }
  return session;
}

void RecoverySessions::Close(const std::string& token) {
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(token);
    if (it == sessions_.end()) return;
    std::vector<std::string> owned;  // its machine's MACs, or those attached to a shared session
    for (auto owner = root_owner_.begin(); owner != root_owner_.end();) {
      if (owner->second != token) {
        ++owner;
        continue;
      }
      owned.push_back(owner->first);
      owner = root_owner_.erase(owner);
    }
    client_roots_.Remove(owned);
    sessions_.erase(it);
  }
  watch_->Remove(token);
  for (const auto& store : kStoreFolders) watch_->Remove(token + store.first);
  std::error_code ec;
  fs::remove_all(fs::path(netboot_dir_) / Folder(token), ec);
}

void RecoverySessions::UpdateClientRoots(const std::string& token) {
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return;
  const RecoverySession& session = it->second;
  std::vector<std::string> owned;
  for (const auto& mac : session.macs)
    if (auto owner = root_owner_.find(mac); owner != root_owner_.end() && owner->second == token)
      owned.push_back(mac);
  const ClientRootSpec spec{Folder(token), session.uefi, session.bios, !session.released,
                            session.bios_started};
  if (auto rooted = client_roots_.Set(owned, spec); !rooted)
    std::cerr << "lifeboat-controller: " << rooted.error().message << std::endl;
}

Result<void> RecoverySessions::Attach(const std::string& token,
                                      const std::vector<std::string>& macs, bool bios,
                                      bool boot_managers) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token);
  if (it == sessions_.end())
    return Fail(ErrorCode::kNotFound, "no recovery boot folder " + Folder(token));
  const RecoverySession& session = it->second;
  for (const auto& mac : macs) root_owner_[mac] = token;
  return client_roots_.Set(
      macs, {Folder(token), session.uefi && !bios, session.bios && bios, boot_managers, bios});
}

void RecoverySessions::Detach(const std::string& token, const std::vector<std::string>& macs) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> owned;
  for (const auto& mac : macs)
    if (auto owner = root_owner_.find(mac); owner != root_owner_.end() && owner->second == token) {
      owned.push_back(mac);
      root_owner_.erase(owner);
    }
  client_roots_.Remove(owned);
}

std::optional<std::chrono::steady_clock::time_point> RecoverySessions::LastOpened(
    const std::string& token) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.last_opened;
}

bool RecoverySessions::Loading(const std::string& machine_id) {
  std::lock_guard lock(mutex_);
  for (const auto& [token, session] : sessions_)
    if (session.machine_id == machine_id && session.started && !session.released) return true;
  return false;
}

void RecoverySessions::ReleaseBootManagers(const std::string& token) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token);
  if (it == sessions_.end() || it->second.released) return;
  it->second.released = true;
  UpdateClientRoots(token);
}

void RecoverySessions::Opened(const std::string& tag, const std::string& file) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(tag.substr(0, tag.find('/'))); it != sessions_.end())
      it->second.last_opened = std::chrono::steady_clock::now();
  }
  // The boot manager read its store, or loads the RAM disk: the firmware has what it boots.
  if (const auto slash = tag.find('/'); slash != std::string::npos) {
    if (file == "BCD") ReleaseBootManagers(tag.substr(0, slash));
    return;
  }
  const std::string& token = tag;
  if (file == "boot.sdi" || file == "boot.wim") {
    ReleaseBootManagers(token);
    return;
  }
  if (file != kUefiLoader && file != kBiosLoader && file != kIsoFile) return;
  RecoverySession session;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(token);
    if (it == sessions_.end()) return;
    it->second.started = true;
    // A BIOS machine's boot manager reads BIOS's store. (A shared session's machines each have
    // the store of the firmware they chose it with.)
    if (file == kBiosLoader && !it->second.bios_started && !it->second.machine_id.empty()) {
      it->second.bios_started = true;
      UpdateClientRoots(token);
    }
    session = it->second;
  }
  started_(session, file);
}

}  // namespace lifeboat::controller
