// The operator's site-wide network recovery entry (lifeboatctl recovery-entry publish): instead
// of asking for one machine's boot (controller/network_recovery.h), an operator offers a
// published recovery image to every accepted machine. Such a machine's network boot, when it has
// nothing else to boot, shows a menu that starts its local disk after a few seconds; someone at
// the machine can choose the recovery image instead (the DaRT guide's remote partition, available
// to end users: so the menu cannot be edited, and every choice is audited).
//
// How:
// - the entry has one folder of its own, a session of controller/recovery_sessions.h with no
//   machine: the image's network tree, its boot.cfg and the menu (menu.cfg);
// - each machine's file in the tree names the menu and the machine's own random ticket; the menu's
//   recovery entry opens the machine's ticket file (lifeboat/machines/entry-<ticket>-<efi|pc>.cfg,
//   see controller/netboot.h), which starts the folder's boot.cfg. The controller watches those
//   opens: the choice is audited with the machine and the operator who published the entry, and
//   the machine's client roots (controller/client_roots.h) give its boot manager the entry's
//   \Boot\BCD for its firmware. A UEFI machine then restarts: its client roots make the entry's
//   bootmgfw.efi the first file its firmware loads, because Windows' boot manager needs the
//   firmware's PXE state, which GRUB's network use resets (a program GRUB chainloads from the
//   network finds no address: seen with a GRUB stand-in through dnsmasq). Minutes later the
//   first files are the shared loaders again. Where there are no client roots (a TFTP server
//   other than dnsmasq), GRUB chainloads the boot manager, and a PXE BIOS chainloads always;
// - publishing another version makes a new folder and new tickets; the files of the machines are
//   switched by the netboot tree's renames, so a machine's menu, ticket and folder are always of
//   one version. The old folder stays while boots may use it: until nothing was opened in it for
//   the lease (a boot loads its WIM in minutes, over TFTP, and is served from the open file).
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/error.h"
#include "common/open_watch.h"
#include "controller/access.h"
#include "controller/admission.h"
#include "controller/fleet.h"
#include "controller/netboot.h"
#include "controller/recovery_sessions.h"

namespace lifeboat::controller {

// The menu's timeout when the operator gives none, and the longest allowed (each of the site's
// network boots waits this long before its local disk starts).
inline constexpr uint32_t kDefaultSiteMenuSeconds = 5;
inline constexpr uint32_t kMaxSiteMenuSeconds = 300;

class SiteEntry {
 public:
  // Serves the entry stored, if any (a new folder: an earlier run's are gone). `sessions` and the
  // rest outlive it. Errors: kIo, kDatabase; a stored entry whose image cannot be served any more
  // is withdrawn, with a line on stderr.
  [[nodiscard]] static Result<std::unique_ptr<SiteEntry>> Start(const std::string& netboot_dir,
                                                                RecoverySessions& sessions,
                                                                Admission& admission, Fleet& fleet,
                                                                Access& access,
                                                                std::chrono::seconds lease);
  ~SiteEntry();

  // Publishes the entry of `version` (empty: the newest published image), replacing any, for
  // `operator_name`. `timeout_seconds` 0 means kDefaultSiteMenuSeconds. Returns the entry.
  // Errors: kNotFound (no such image), kConflict (retired), "image-expired", kInvalidArgument (a
  // timeout over kMaxSiteMenuSeconds), kIo.
  [[nodiscard]] Result<SiteRecoveryEntry> Publish(const std::string& version,
                                                  uint32_t timeout_seconds,
                                                  const std::string& operator_name);
  // Withdraws the entry: machines' menus go; boots under way keep their folder for the lease.
  // Returns the entry withdrawn. Errors: kNotFound (none is published), kDatabase.
  [[nodiscard]] Result<SiteRecoveryEntry> Withdraw();
  // The entry published (an empty version: none). Errors: kDatabase.
  [[nodiscard]] Result<SiteRecoveryEntry> Current();

  // What the netboot tree offers the machines of `entries` (NetbootPublisher::SiteOffer).
  [[nodiscard]] SiteMenu Offer(const std::vector<NetbootEntry>& entries);
  // Whether the machine chose the entry less than `grace` ago: its boot manager may be about to
  // read the \Boot\BCD its client roots give it.
  [[nodiscard]] bool Choosing(const std::string& machine_id, std::chrono::seconds grace);
  // Gives the shared loaders back as the first files of machines that chose the entry `grace` ago,
  // closes the folders of earlier entries that nothing opened for the lease, and gives back the
  // client roots of choices older than the lease. Called every minute.
  void Sweep(std::chrono::seconds grace);

 private:
  SiteEntry(std::string netboot_dir, Admission& admission, Fleet& fleet, Access& access,
            RecoverySessions& sessions, std::chrono::seconds lease);
  // Writes the folder that serves `entry`: the image's network tree and the menu.
  [[nodiscard]] Result<RecoverySession> OpenFolder(const SiteRecoveryEntry& entry);
  // The entry served is no longer offered; its folder stays for the boots under way. Under mutex_.
  void Retire();
  // A ticket file was opened: its machine chose the entry.
  void Opened(const std::string& file);

  const std::string netboot_dir_;
  Admission& admission_;
  Fleet& fleet_;
  Access& access_;
  RecoverySessions& sessions_;
  const std::chrono::seconds lease_;
  std::unique_ptr<OpenWatch> watch_;  // lifeboat/machines, for the ticket files
  std::mutex mutex_;
  SiteRecoveryEntry entry_;                       // the one served (an empty version: none)
  RecoverySession session_;                       // its folder
  std::map<std::string, std::string> tickets_;    // machine id -> ticket, for session_
  std::map<std::string, std::string> ticket_of_;  // ticket -> machine id
  std::map<std::string, std::chrono::steady_clock::time_point> retired_;  // token -> when
  struct Choice {
    std::string token;  // the folder chosen
    std::vector<std::string> macs;
    bool bios = false;      // chosen in a BIOS's GRUB (else UEFI's)
    bool released = false;  // the first files of its client roots are the shared loaders
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Choice> choices_;  // by machine id
};

}  // namespace lifeboat::controller
