#include "controller/recovery_sessions.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/pki.h"
#include "media/network_tree.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUefiLoader = "bootmgfw.efi";
constexpr const char* kBiosLoader = "pxeboot.n12";

}  // namespace

std::string RenderRecoveryBootCfg(const RecoverySession& session) {
  const std::string folder = "/" + RecoverySessions::Folder(session.token);
  std::string cfg = "# Written by lifeboat-controller: machine " + session.machine_id +
                    "'s network recovery boot of version " + session.version +
                    " (controller/recovery_sessions.h).\n"
                    "echo \"lifeboat-netboot: starting the recovery image " +
                    session.version + " from the network\"\n";
  if (session.uefi)
    cfg += "if [ \"$grub_platform\" = efi ]; then\n  chainloader " + folder + "/" + kUefiLoader +
           "\n  boot\nfi\n";
  if (session.bios)
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
  auto watch =
      OpenWatch::Start([raw = sessions.get()](const std::string& token, const std::string& file) {
        raw->Opened(token, file);
      });
  if (!watch) return std::unexpected(watch.error());
  sessions->watch_ = std::move(*watch);
  return sessions;
}

RecoverySessions::RecoverySessions(std::string netboot_dir, Started started)
    : netboot_dir_(std::move(netboot_dir)), started_(std::move(started)) {}

RecoverySessions::~RecoverySessions() { watch_.reset(); }  // its thread calls Opened

Result<RecoverySession> RecoverySessions::Open(const std::string& machine_id,
                                               const media::MediumSource& source) {
  RecoverySession session{RandomHex(16), machine_id, source.version, source.uefi, source.bios};
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
  if (auto watched = watch_->Add(session.token, folder.string()); !watched) {
    Close(session.token);
    return std::unexpected(watched.error());
  }
  return session;
}

void RecoverySessions::Close(const std::string& token) {
  {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(token) == 0) return;
  }
  watch_->Remove(token);
  std::error_code ec;
  fs::remove_all(fs::path(netboot_dir_) / Folder(token), ec);
}

void RecoverySessions::Opened(const std::string& token, const std::string& file) {
  if (file != kUefiLoader && file != kBiosLoader) return;
  RecoverySession session;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(token);
    if (it == sessions_.end()) return;
    session = it->second;
  }
  started_(session, file);
}

}  // namespace lifeboat::controller
