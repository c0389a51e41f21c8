#include "controller/network_recovery.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "media/medium_source.h"

namespace lifeboat::controller {

Result<std::unique_ptr<NetworkRecovery>> NetworkRecovery::Start(const std::string& netboot_dir,
                                                                const std::string& http_address,
                                                                Admission& admission, Fleet& fleet,
                                                                Access& access,
                                                                std::chrono::seconds lease) {
  std::unique_ptr<NetworkRecovery> recovery(
      new NetworkRecovery(netboot_dir, http_address, admission, fleet, access, lease));
  auto sessions = RecoverySessions::Start(
      netboot_dir, [raw = recovery.get()](const RecoverySession& session, const std::string& file) {
        raw->Started(session, file);
      });
  if (!sessions) return std::unexpected(sessions.error());
  recovery->sessions_ = std::move(*sessions);
  auto site = SiteEntry::Start(netboot_dir, *recovery->sessions_, admission, fleet, access, lease);
  if (!site) return std::unexpected(site.error());
  recovery->site_ = std::move(*site);
  // The folders of an earlier run are gone (RecoverySessions::Start): each request still open
  // gets a new one.
  auto entries = admission.NetbootEntries();
  if (!entries) return std::unexpected(entries.error());
  for (const auto& entry : *entries) {
    if (entry.choice != NetbootChoice::kRecovery) continue;
    auto identity = admission.IdentityOf(entry.machine);
    if (!identity || !*identity) continue;
    const NetworkRecoveryRequest request = (*identity)->recovery;
    auto session = recovery->OpenSession(entry.machine, request.version, request.iso);
    if (!session) {
      std::cerr << "lifeboat-controller: network recovery of " << entry.machine << " ("
                << request.version << ") ended: " << session.error().message << std::endl;
      (void)admission.SetNetworkRecovery(entry.machine, {});
      continue;
    }
    LIFEBOAT_TRY(admission.SetNetworkRecovery(
        entry.machine, {request.version, request.requested_by, session->token, request.iso}));
  }
  recovery->sweeper_ =
      std::jthread([raw = recovery.get()](std::stop_token stop) { raw->Sweep(stop); });
  return recovery;
}

NetworkRecovery::NetworkRecovery(std::string netboot_dir, std::string http_address,
                                 Admission& admission, Fleet& fleet, Access& access,
                                 std::chrono::seconds lease)
    : netboot_dir_(std::move(netboot_dir)),
      http_address_(std::move(http_address)),
      admission_(admission),
      fleet_(fleet),
      access_(access),
      lease_(lease) {}

NetworkRecovery::~NetworkRecovery() {
  sweeper_.request_stop();
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  site_.reset();
  sessions_.reset();  // its watch calls Started until it stops
}

Result<RecoverySession> NetworkRecovery::OpenSession(const std::string& machine_id,
                                                     const std::string& version, bool iso) {
  auto image = fleet_.catalog().Image(version);
  if (!image) return std::unexpected(image.error());
  if (image->retired)
    return Fail(ErrorCode::kConflict, "image " + version + " is retired: it is served no more");
  if (iso) {
    // iPXE's sanboot boots the ISO as a BIOS CD, from the controller's HTTP side.
    if (http_address_.empty())
      return Fail(ErrorCode::kUnsupported,
                  "an ISO network boot needs the tree served over HTTP: start the controller with "
                  "--netboot-http HOST:PORT");
    if (!std::filesystem::is_regular_file(std::filesystem::path(netboot_dir_) / "bios/ipxe.lkrn"))
      return Fail(ErrorCode::kUnsupported,
                  "the network boot tree has no bios/ipxe.lkrn: make the loaders again "
                  "(packaging/service-env/build or loaders)");
    auto source = media::ReadMediumSource(image->blob_path, version, media::FirmwareChoice::kBios,
                                          media::MediumKind::kCd, false);
    if (!source) return std::unexpected(source.error());
    return sessions_->OpenIso(machine_id, *source, http_address_);
  }
  auto source = media::ReadMediumSource(image->blob_path, version, media::FirmwareChoice::kBoth,
                                        media::MediumKind::kNetwork, false);
  if (!source) return std::unexpected(source.error());
  auto identity = admission_.IdentityOf(machine_id);
  LIFEBOAT_TRY(identity);
  if (!*identity) return std::unexpected(NoHardwareIdentity(machine_id));
  return sessions_->Open(machine_id, (*identity)->identity.macs, *source);
}

Result<std::string> NetworkRecovery::Request(const std::string& machine_id,
                                             const std::string& version,
                                             const std::string& operator_name, bool iso) {
  auto identity = admission_.IdentityOf(machine_id);
  LIFEBOAT_TRY(identity);
  if (!*identity) return std::unexpected(NoHardwareIdentity(machine_id));
  std::string chosen = version;
  if (chosen.empty()) {
    auto newest = fleet_.catalog().Newest();
    LIFEBOAT_TRY(newest);
    chosen = *newest;
  }
  if (sessions_->Loading(machine_id) || site_->Choosing(machine_id, kBootManagerGrace))
    return Fail(ErrorCode::kConflict,
                "machine " + machine_id +
                    " is loading its recovery boot's boot manager right now; ask again in " +
                    std::to_string(kBootManagerGrace.count() / 60) + " minutes");
  auto session = OpenSession(machine_id, chosen, iso);
  LIFEBOAT_TRY(session);
  const std::string replaced = (*identity)->recovery.token;
  if (auto set =
          admission_.SetNetworkRecovery(machine_id, {chosen, operator_name, session->token, iso});
      !set) {
    sessions_->Close(session->token);
    return std::unexpected(set.error());
  }
  // An earlier request that never started: its folder goes (one that started keeps its lease).
  if (!replaced.empty()) {
    std::lock_guard lock(mutex_);
    if (!started_.contains(replaced)) sessions_->Close(replaced);
  }
  return chosen;
}

void NetworkRecovery::Started(const RecoverySession& session, const std::string& file) {
  auto identity = admission_.IdentityOf(session.machine_id);
  if (!identity || !*identity || (*identity)->recovery.token != session.token) return;
  const std::string asked_by = (*identity)->recovery.requested_by;
  {
    std::lock_guard lock(mutex_);
    if (started_.contains(session.token)) return;
    started_[session.token] = std::chrono::steady_clock::now();
  }
  // Once: the machine's next network boot goes back to what it booted before.
  if (auto ended = admission_.SetNetworkRecovery(session.machine_id, {}); !ended)
    std::cerr << "lifeboat-controller: network recovery of " << session.machine_id << ": "
              << ended.error().message << std::endl;
  AuditRecord record;
  record.who = asked_by;
  record.action = "NetworkRecoveryBoot";
  record.target = "machine " + session.machine_id;
  record.outcome = "ok";
  record.detail = "started recovery image " + session.version + " from the network (" + file +
                  " loaded), as " + asked_by + " asked";
  if (auto audited = access_.Audit(record); !audited)
    std::cerr << "lifeboat-controller: audit: " << audited.error().message << std::endl;
  wake_.notify_all();
}

void NetworkRecovery::Sweep(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    wake_.wait_for(lock, stop, std::chrono::minutes(1), [] { return false; });
    const auto now = std::chrono::steady_clock::now();
    for (auto it = started_.begin(); it != started_.end();) {
      if (now - it->second >= std::min<std::chrono::seconds>(kBootManagerGrace, lease_))
        sessions_->ReleaseBootManagers(it->first);
      if (now - it->second < lease_) {
        ++it;
        continue;
      }
      sessions_->Close(it->first);
      it = started_.erase(it);
    }
    site_->Sweep(std::min<std::chrono::seconds>(kBootManagerGrace, lease_));
  }
}

}  // namespace lifeboat::controller
