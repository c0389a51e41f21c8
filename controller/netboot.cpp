#include "controller/netboot.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "common/cpio_archive.h"
#include "common/files.h"
#include "common/version.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

constexpr const char* kGrubCfg =
    R"(# Written by lifeboat-controller at each start (controller/netboot.h); edits are lost.
# This machine's own file decides, found by its SMBIOS UUID or the MAC address it booted from.
set timeout=0
smbios --type 1 --get-uuid 8 --set lifeboat_uuid
# The adapter it booted from: GRUB for UEFI names it net_default_mac, GRUB for PXE BIOSes net_pxe_mac.
set lifeboat_mac="$net_default_mac"
if [ -z "$lifeboat_mac" ]; then set lifeboat_mac="$net_pxe_mac"; fi
# (One value a line: GRUB's BIOS console wraps at 80 columns.)
echo "lifeboat-netboot: uuid=$lifeboat_uuid"
echo "lifeboat-netboot: mac=$lifeboat_mac"
# Each file boots something and does not return; a missing one is an error GRUB prints and passes
# over. (GRUB's test -f cannot see files over TFTP, which lists no folders.)
if [ -n "$lifeboat_uuid" ]; then source /lifeboat/machines/$lifeboat_uuid.cfg; fi
if [ -n "$lifeboat_mac" ]; then source /lifeboat/machines/$lifeboat_mac.cfg; fi
# No file: a machine the controller does not know. The service environment introduces it (it shows
# up as pending) and reboots; from then on its file sends it to its local disk.
echo "lifeboat-netboot: an unknown machine: introducing it to the controller"
source /lifeboat/service.cfg
)";

constexpr const char* kLocalCfg =
    R"(# Written by lifeboat-controller: the local disk, reached by chainloading its own boot manager
# (see controller/netboot.h for why not GRUB's exit). The root is set to the disk first: GRUB hands
# the chainloaded program the root device as its own, and a boot manager looks for its files there
# (on the network it would find none).
echo "lifeboat-netboot: starting the local disk"
if [ "$grub_platform" = efi ]; then
  search --no-floppy --file --set=lifeboat_esp /EFI/Microsoft/Boot/bootmgfw.efi
  if [ -n "$lifeboat_esp" ]; then
    set root=$lifeboat_esp
    chainloader /EFI/Microsoft/Boot/bootmgfw.efi
    boot
  fi
  search --no-floppy --file --set=lifeboat_esp /EFI/Boot/bootx64.efi
  if [ -n "$lifeboat_esp" ]; then
    set root=$lifeboat_esp
    chainloader /EFI/Boot/bootx64.efi
    boot
  fi
  echo "lifeboat-netboot: no boot manager found on the disks: back to the firmware"
  exit
else
  set root=(hd0)
  chainloader +1
  boot
  echo "lifeboat-netboot: the first disk does not start: back to the firmware"
  exit
fi
)";

constexpr const char* kRestartCfg =
    R"cfg(# Written by lifeboat-controller: a machine that chose the site-wide recovery entry restarts,
# and its firmware then loads the recovery image's boot manager itself from the machine's client
# root (controller/site_entry.h). Reached only through a client root's restart.cfg.
echo "lifeboat-netboot: restarting into the recovery image's boot manager"
echo "lifeboat-netboot: (should Windows start instead, choose the network boot again)"
sleep 3
reboot
)cfg";

// Written to a temporary name in the same folder and renamed into place: a TFTP server reading
// it sees the old file or the new one. Not fsynced: the tree is rendered again at every start.
Result<void> Publish(const fs::path& path, const std::string& content) {
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) return Fail(ErrorCode::kIo, "netboot: cannot write " + partial.string());
  }
  std::error_code ec;
  fs::permissions(partial, fs::perms(0644), ec);
  fs::rename(partial, path, ec);
  if (ec) return Fail(ErrorCode::kIo, "netboot: " + path.string() + ": " + ec.message());
  return {};
}

Result<void> PublishCopy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  const fs::path partial = to.string() + ".partial";
  fs::copy_file(from, partial, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::permissions(partial, fs::perms(0644), ec);
  if (!ec) fs::rename(partial, to, ec);
  if (ec)
    return Fail(ErrorCode::kIo,
                "netboot: copying " + from.string() + " to " + to.string() + ": " + ec.message());
  return {};
}

}  // namespace

std::string RenderServiceConf(const NetbootSettings& s) {
  std::string conf =
      "# Written by lifeboat-controller: the service environment's agent (packaging/agent.conf\n"
      "# explains the keys). It reaches the controller here, and trusts it by this CA.\n"
      "controller = " +
      s.address + "\nca = /etc/lifeboat/ca.pem\n";
  std::string keys;
  for (size_t i = 0; i < s.trusted_keys.size(); ++i)
    keys += (i ? ", " : "") + std::string("/etc/lifeboat/keys/") + std::to_string(i + 1) + ".pem";
  if (!keys.empty()) conf += "trusted_keys = " + keys + "\n";
  return conf;
}

std::map<std::string, std::string> RenderNetbootConfigs(const NetbootSettings& s) {
  // Over HTTP a 50 MiB initrd loads in about two thirds of the time TFTP takes (GRUB's TFTP waits
  // for each 1 KiB block's acknowledgement). Lifeboat's BIOS GRUB has HTTP built in; Debian's
  // signed GRUB for UEFI does not, and under Secure Boot loads no modules: UEFI machines load over
  // TFTP. (insmod cannot tell: it succeeds even when it finds no module.)
  std::string from;
  if (!s.http_address.empty())
    from =
        "set lifeboat_from=\n"
        "if [ \"$grub_platform\" = pc ]; then set lifeboat_from=\"(http," +
        s.http_address + ")\"; fi\n";
  const std::string at = s.http_address.empty() ? "" : "$lifeboat_from";
  return {
      {"grub/grub.cfg", kGrubCfg},
      {"lifeboat/local.cfg", kLocalCfg},
      {"lifeboat/restart.cfg", kRestartCfg},
      {"lifeboat/service.cfg",
       "# Written by lifeboat-controller: the Lifeboat service environment.\n"
       "echo \"lifeboat-netboot: starting the service environment\"\n" +
           from + "linux " + at + "/lifeboat/vmlinuz " + s.kernel_args + "\ninitrd " + at +
           "/lifeboat/initrd.img " + at +
           "/lifeboat/site.cpio\n"
           "boot\n"
           "echo \"lifeboat-netboot: the service environment did not start\"\n"
           "source /lifeboat/local.cfg\n"},
  };
}

std::string SiteTicketFile(const std::string& ticket, const std::string& platform) {
  return "entry-" + ticket + "-" + platform + ".cfg";
}

std::string RenderSiteMenuCfg(const std::string& version, uint32_t timeout_seconds) {
  // An empty superusers list locks GRUB's editor and command line (a user could otherwise edit
  // an entry into anything the tree holds); --unrestricted lets anyone start the two entries.
  // The menu is a configfile: exported variables (the machine's ticket) reach it.
  return "# Written by lifeboat-controller: the site-wide recovery entry's menu "
         "(controller/site_entry.h).\n"
         "set superusers=\"\"\n"
         "set default=0\n"
         "set timeout=" +
         std::to_string(timeout_seconds) +
         "\n"
         // (Short: GRUB's BIOS console wraps at 80 columns.)
         "echo \"lifeboat-netboot: recovery image " +
         version +
         " offered (press R)\"\n"
         "menuentry \"Start this computer from its disk\" --unrestricted {\n"
         "  source /lifeboat/local.cfg\n"
         "}\n"
         "menuentry \"Lifeboat recovery image " +
         version +
         " (from the network)\" --hotkey=r --unrestricted {\n"
         "  source /lifeboat/machines/entry-${lifeboat_ticket}-${grub_platform}.cfg\n"
         "  echo \"lifeboat-netboot: the recovery entry changed since this menu was shown\"\n"
         "  source /lifeboat/local.cfg\n"
         "}\n";
}

std::map<std::string, std::string> RenderMachineFiles(const std::vector<NetbootEntry>& entries,
                                                      const SiteMenu& site) {
  std::map<std::string, std::string> files;
  for (const auto& e : entries) {
    const std::string what = e.choice == NetbootChoice::kRecovery
                                 ? "recovery/" + e.recovery_token + "/boot"
                             : e.choice == NetbootChoice::kServiceEnvironment ? "service"
                                                                              : "local";
    std::string content = "# " + e.machine + "\nsource /lifeboat/" + what + ".cfg\n";
    const auto ticket = site.tickets.find(e.machine);
    if (e.choice == NetbootChoice::kLocalDisk && !e.pending && !site.folder.empty() &&
        ticket != site.tickets.end()) {
      // The menu, and the local disk should it return (Escape); its entry opens a ticket file.
      content = "# " + e.machine + "\nset lifeboat_ticket=" + ticket->second +
                "\nexport lifeboat_ticket\nconfigfile /" + site.folder +
                "/menu.cfg\nsource /lifeboat/local.cfg\n";
      const std::string chosen =
          "# " + e.machine + ": the site-wide recovery entry, chosen at the machine\n";
      // UEFI: Windows' boot manager needs the firmware's PXE state, which GRUB's network use
      // resets; so where the controller can give the machine its boot manager as the first file
      // (a dnsmasq client root, made when this file is opened), the machine restarts into it.
      // Elsewhere GRUB chainloads it (boot.cfg). A PXE BIOS keeps its state for pxechainloader.
      files.emplace(SiteTicketFile(ticket->second, "efi"),
                    chosen + "sleep 1\nsource /restart.cfg\nsource /" + site.folder +
                        "/boot.cfg\n");
      files.emplace(SiteTicketFile(ticket->second, "pc"),
                    chosen + "source /" + site.folder + "/boot.cfg\n");
    }
    // The first entry for a UUID or MAC wins: accepted machines come before pending ones.
    if (!e.identity.smbios_uuid.empty()) files.emplace(e.identity.smbios_uuid + ".cfg", content);
    for (const auto& mac : e.identity.macs) files.emplace(mac + ".cfg", content);
  }
  return files;
}

namespace {

// Whether every character of `text` is one of `allowed` or a letter or digit: the kernel's command
// line goes into a GRUB script and the address into the agent's config, where a quote, a ';', a
// '$' or a line break would be read as more than a value.
bool PlainText(const std::string& text, const std::string& allowed) {
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && allowed.find(c) == std::string::npos)
      return false;
  return true;
}

}  // namespace

Result<NetbootTree> NetbootTree::Create(const NetbootSettings& s) {
  if (!PlainText(s.kernel_args, " =,._:/+-"))
    return BadInput("netboot_kernel_args",
                    "netboot_kernel_args: " + Quoted(s.kernel_args) +
                        " may hold only letters, digits, spaces and = , . _ : / + -");
  if (s.address.empty() || !PlainText(s.address, ".-:[]"))
    return BadInput("netboot_address", "netboot_address: " + Quoted(s.address) +
                                           " is not HOST:PORT (a name or address and a port)");
  if (!s.http_address.empty() && !PlainText(s.http_address, ".-:[]"))
    return BadInput("netboot_http", "netboot HTTP address " + Quoted(s.http_address) +
                                        " is not HOST:PORT (a name or address and a port)");
  const fs::path env(s.service_env), dir(s.dir);
  const std::vector<std::pair<std::string, std::string>> copies = {
      {"loaders/uefi/bootx64.efi", "uefi/bootx64.efi"},
      {"loaders/uefi/grubx64.efi", "uefi/grubx64.efi"},
      {"loaders/bios/lifeboat.0", "bios/lifeboat.0"},
      {"vmlinuz", "lifeboat/vmlinuz"},
      {"initrd.img", "lifeboat/initrd.img"},
  };
  for (const auto& [from, to] : copies)
    if (!fs::is_regular_file(env / from))
      return Fail(ErrorCode::kNotFound, "--service-env: " + (env / from).string() +
                                            " is missing: build the service environment with "
                                            "packaging/service-env/build " +
                                            s.service_env);
  std::error_code ec;
  for (const char* sub : {"uefi", "bios", "grub", "lifeboat/machines"}) {
    fs::create_directories(dir / sub, ec);
    if (ec)
      return Fail(ErrorCode::kIo,
                  "--netboot-dir: cannot make " + (dir / sub).string() + ": " + ec.message());
  }
  for (const auto& [from, to] : copies) LIFEBOAT_TRY(PublishCopy(env / from, dir / to));
  // iPXE, for recovery ISOs over HTTP (controller/recovery_sessions.h); older loaders lack it.
  if (fs::is_regular_file(env / "loaders/bios/ipxe.lkrn"))
    LIFEBOAT_TRY(PublishCopy(env / "loaders/bios/ipxe.lkrn", dir / "bios/ipxe.lkrn"));
  for (const auto& [path, content] : RenderNetbootConfigs(s))
    LIFEBOAT_TRY(Publish(dir / path, content));

  std::vector<CpioEntry> site = {{"etc", "", 0755, true},
                                 {"etc/lifeboat", "", 0755, true},
                                 {"etc/lifeboat/service.conf", RenderServiceConf(s)},
                                 {"etc/lifeboat/ca.pem", s.ca_pem}};
  if (!s.trusted_keys.empty()) site.push_back({"etc/lifeboat/keys", "", 0755, true});
  for (size_t i = 0; i < s.trusted_keys.size(); ++i)
    site.push_back({"etc/lifeboat/keys/" + std::to_string(i + 1) + ".pem", s.trusted_keys[i]});
  auto cpio = MakeCpio(site);
  LIFEBOAT_TRY(cpio);
  LIFEBOAT_TRY(Publish(dir / "lifeboat/site.cpio", *cpio));

  NetbootTree tree((dir / "lifeboat/machines").string());
  // What an earlier run left is taken as written, so that the first SetMachineFiles removes what
  // no longer applies.
  for (const auto& entry : fs::directory_iterator(tree.machines_dir_, ec))
    tree.written_[entry.path().filename().string()] = "";
  return tree;
}

Result<size_t> NetbootTree::SetMachineFiles(const std::map<std::string, std::string>& files) {
  size_t changes = 0;
  for (auto it = written_.begin(); it != written_.end();) {
    if (files.contains(it->first)) {
      ++it;
      continue;
    }
    std::error_code ec;
    fs::remove(fs::path(machines_dir_) / it->first, ec);
    it = written_.erase(it);
    ++changes;
  }
  for (const auto& [name, content] : files) {
    auto it = written_.find(name);
    if (it != written_.end() && it->second == content) continue;
    LIFEBOAT_TRY(Publish(fs::path(machines_dir_) / name, content));
    written_[name] = content;
    ++changes;
  }
  return changes;
}

NetbootPublisher::NetbootPublisher(NetbootTree tree, Admission& admission)
    : tree_(std::move(tree)), admission_(admission) {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

NetbootPublisher::~NetbootPublisher() {
  thread_.request_stop();
  poked_.notify_all();
}

void NetbootPublisher::Poke() {
  {
    std::lock_guard lock(poke_mutex_);
    pending_ = true;
  }
  poked_.notify_all();
}

void NetbootPublisher::OfferSiteEntry(SiteOffer offer) {
  const bool offered = offer != nullptr;
  {
    std::lock_guard lock(mutex_);
    site_offer_ = std::move(offer);
  }
  if (offered) Poke();
}

Result<size_t> NetbootPublisher::PublishNow() {
  auto entries = admission_.NetbootEntries();
  LIFEBOAT_TRY(entries);
  std::lock_guard lock(mutex_);
  const SiteMenu site = site_offer_ ? site_offer_(*entries) : SiteMenu{};
  return tree_.SetMachineFiles(RenderMachineFiles(*entries, site));
}

void NetbootPublisher::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(poke_mutex_);
      poked_.wait_for(lock, stop, std::chrono::seconds(2), [&] { return pending_; });
      pending_ = false;
    }
    if (stop.stop_requested()) return;
    if (auto r = PublishNow(); !r)
      std::cerr << "lifeboat-controller: netboot: " << r.error().message << std::endl;
  }
}

}  // namespace lifeboat::controller
