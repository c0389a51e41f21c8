#include "controller/site_entry.h"

#include <filesystem>
#include <iostream>

#include "common/files.h"
#include "common/pki.h"
#include "media/medium_source.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMachinesTag = "machines";

// The ticket and GRUB's platform of a ticket file's name ("entry-<ticket>-<efi|pc>.cfg"); nothing
// for any other file (a machine's own file, a file being written).
std::optional<std::pair<std::string, std::string>> ParseTicketFile(const std::string& file) {
  for (const char* platform : {"efi", "pc"}) {
    const std::string suffix = "-" + std::string(platform) + ".cfg";
    if (file.starts_with("entry-") && file.ends_with(suffix) && file.size() > suffix.size() + 6)
      return std::make_pair(file.substr(6, file.size() - 6 - suffix.size()), std::string(platform));
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<SiteEntry>> SiteEntry::Start(const std::string& netboot_dir,
                                                    RecoverySessions& sessions,
                                                    Admission& admission, Fleet& fleet,
                                                    Access& access, std::chrono::seconds lease) {
  std::unique_ptr<SiteEntry> site(
      new SiteEntry(netboot_dir, admission, fleet, access, sessions, lease));
  auto watch = OpenWatch::Start(
      [raw = site.get()](const std::string&, const std::string& file) { raw->Opened(file); });
  if (!watch) return std::unexpected(watch.error());
  site->watch_ = std::move(*watch);
  LIFEBOAT_TRY(site->watch_->Add(kMachinesTag, (fs::path(netboot_dir) / "lifeboat/machines")));
  auto stored = admission.SiteEntry();
  LIFEBOAT_TRY(stored);
  if (!stored->version.empty()) {
    auto folder = site->OpenFolder(*stored);
    if (!folder) {
      std::cerr << "lifeboat-controller: the site-wide recovery entry (" << stored->version
                << ") is withdrawn: " << folder.error().message << std::endl;
      LIFEBOAT_TRY(admission.SetSiteEntry({}));
    } else {
      std::lock_guard lock(site->mutex_);
      site->entry_ = *stored;
      site->session_ = *folder;
    }
  }
  return site;
}

SiteEntry::SiteEntry(std::string netboot_dir, Admission& admission, Fleet& fleet, Access& access,
                     RecoverySessions& sessions, std::chrono::seconds lease)
    : netboot_dir_(std::move(netboot_dir)),
      admission_(admission),
      fleet_(fleet),
      access_(access),
      sessions_(sessions),
      lease_(lease) {}

SiteEntry::~SiteEntry() { watch_.reset(); }  // its thread calls Opened

Result<RecoverySession> SiteEntry::OpenFolder(const SiteRecoveryEntry& entry) {
  auto image = fleet_.catalog().Image(entry.version);
  LIFEBOAT_TRY(image);
  if (image->retired)
    return Fail(ErrorCode::kConflict,
                "image " + entry.version + " is retired: it is served no more");
  auto source =
      media::ReadMediumSource(image->blob_path, entry.version, media::FirmwareChoice::kBoth,
                              media::MediumKind::kNetwork, false);
  LIFEBOAT_TRY(source);
  auto session = sessions_.Open("", {}, *source);
  LIFEBOAT_TRY(session);
  const fs::path menu =
      fs::path(netboot_dir_) / RecoverySessions::Folder(session->token) / "menu.cfg";
  if (auto written = WriteFileAtomically(
          menu.string(), RenderSiteMenuCfg(entry.version, entry.timeout_seconds), 0644);
      !written) {
    sessions_.Close(session->token);
    return std::unexpected(written.error());
  }
  return session;
}

void SiteEntry::Retire() {
  if (!session_.token.empty()) retired_[session_.token] = std::chrono::steady_clock::now();
  entry_ = {};
  session_ = {};
  tickets_.clear();
  ticket_of_.clear();
}

Result<SiteRecoveryEntry> SiteEntry::Publish(const std::string& version, uint32_t timeout_seconds,
                                             const std::string& operator_name) {
  if (timeout_seconds > kMaxSiteMenuSeconds)
    return BadInput("timeout_seconds", "timeout: " + std::to_string(timeout_seconds) +
                                           " s is more than " +
                                           std::to_string(kMaxSiteMenuSeconds) +
                                           " s, which every network boot of the site would wait");
  SiteRecoveryEntry entry{version, operator_name, "",
                          timeout_seconds ? timeout_seconds : kDefaultSiteMenuSeconds};
  if (entry.version.empty()) {
    auto newest = fleet_.catalog().Newest();
    LIFEBOAT_TRY(newest);
    entry.version = *newest;
  }
  // The folder first: machines are sent to it only once it is complete.
  auto folder = OpenFolder(entry);
  LIFEBOAT_TRY(folder);
  std::lock_guard lock(mutex_);
  if (auto stored = admission_.SetSiteEntry(entry); !stored) {
    sessions_.Close(folder->token);
    return std::unexpected(stored.error());
  }
  auto current = admission_.SiteEntry();  // with the store's time of publication
  Retire();
  entry_ = current ? *current : entry;
  session_ = *folder;
  return entry_;
}

Result<SiteRecoveryEntry> SiteEntry::Withdraw() {
  std::lock_guard lock(mutex_);
  if (entry_.version.empty())
    return Fail(ErrorCode::kNotFound, "no site-wide recovery entry is published");
  const SiteRecoveryEntry withdrawn = entry_;
  LIFEBOAT_TRY(admission_.SetSiteEntry({}));
  Retire();
  return withdrawn;
}

Result<SiteRecoveryEntry> SiteEntry::Current() {
  std::lock_guard lock(mutex_);
  return entry_;
}

SiteMenu SiteEntry::Offer(const std::vector<NetbootEntry>& entries) {
  std::lock_guard lock(mutex_);
  if (session_.token.empty()) return {};
  SiteMenu menu{RecoverySessions::Folder(session_.token), {}};
  std::map<std::string, std::string> tickets, ticket_of;
  for (const auto& e : entries) {
    if (e.pending || e.choice != NetbootChoice::kLocalDisk) continue;
    auto it = tickets_.find(e.machine);
    const std::string ticket = it != tickets_.end() ? it->second : RandomHex(16);
    tickets[e.machine] = ticket;
    ticket_of[ticket] = e.machine;
  }
  // Machines that left the offer (a request, work, deletion) lose their tickets.
  tickets_ = tickets;
  ticket_of_ = std::move(ticket_of);
  menu.tickets = std::move(tickets);
  return menu;
}

bool SiteEntry::Choosing(const std::string& machine_id, std::chrono::seconds grace) {
  std::lock_guard lock(mutex_);
  auto it = choices_.find(machine_id);
  return it != choices_.end() && std::chrono::steady_clock::now() - it->second.at < grace;
}

void SiteEntry::Opened(const std::string& file) {
  const auto parsed = ParseTicketFile(file);
  if (!parsed) return;
  const auto& [ticket, platform] = *parsed;
  std::string machine;
  SiteRecoveryEntry entry;
  std::string token;
  {
    std::lock_guard lock(mutex_);
    auto it = ticket_of_.find(ticket);
    if (it == ticket_of_.end()) return;
    machine = it->second;
    entry = entry_;
    token = session_.token;
  }
  auto identity = admission_.IdentityOf(machine);
  if (!identity || !*identity) return;
  std::string detail = "chose recovery image " + entry.version +
                       " from the network in the site-wide entry published by " +
                       entry.published_by + " (" + (platform == "pc" ? "BIOS" : "UEFI") + ")";
  // A request of the machine that has not started is spent by this boot: its folder would
  // otherwise take the client roots back.
  if (const auto& request = (*identity)->recovery; !request.token.empty()) {
    sessions_.Close(request.token);
    (void)admission_.SetNetworkRecovery(machine, {});
    detail += "; this ended its pending request by " + request.requested_by;
  }
  const auto macs = (*identity)->identity.macs;
  // UEFI restarts into the entry's boot manager (its ticket file says why); a BIOS chainloads it.
  const bool bios = platform == "pc";
  if (auto attached = sessions_.Attach(token, macs, bios, !bios); !attached)
    std::cerr << "lifeboat-controller: site-wide recovery entry: " << attached.error().message
              << std::endl;
  {
    std::lock_guard lock(mutex_);
    if (auto earlier = choices_.find(machine);
        earlier != choices_.end() && earlier->second.token != token)
      sessions_.Detach(earlier->second.token, earlier->second.macs);
    choices_[machine] = {token, macs, bios, bios, std::chrono::steady_clock::now()};
  }
  AuditRecord record;
  record.who = entry.published_by;
  record.action = "NetworkRecoveryBoot";
  record.target = "machine " + machine;
  record.outcome = "ok";
  record.detail = detail;
  if (auto audited = access_.Audit(record); !audited)
    std::cerr << "lifeboat-controller: audit: " << audited.error().message << std::endl;
}

void SiteEntry::Sweep(std::chrono::seconds grace) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  for (auto& [machine, choice] : choices_) {
    // The restart's boot is under way: the firmware's next network boot goes to GRUB again.
    if (choice.released || now - choice.at < grace) continue;
    choice.released = true;
    if (auto attached = sessions_.Attach(choice.token, choice.macs, choice.bios, false); !attached)
      std::cerr << "lifeboat-controller: site-wide recovery entry: "
                << attached.error().message << std::endl;
  }
  for (auto it = choices_.begin(); it != choices_.end();) {
    if (now - it->second.at < lease_) {
      ++it;
      continue;
    }
    sessions_.Detach(it->second.token, it->second.macs);
    it = choices_.erase(it);
  }
  for (auto it = retired_.begin(); it != retired_.end();) {
    const auto last = std::max(it->second, sessions_.LastOpened(it->first).value_or(it->second));
    if (now - last < lease_) {
      ++it;
      continue;
    }
    sessions_.Close(it->first);
    it = retired_.erase(it);
  }
}

}  // namespace lifeboat::controller
