// Per-machine TFTP roots, so that Windows' own boot managers find their boot's files the way they
// look for them. Microsoft's network boot managers read their store from \Boot\BCD at the TFTP
// root unless DHCP option 252 names another path, and dnsmasq as a proxy DHCP server (the way
// sites run it beside their own DHCP server) sends no option 252. So each boot's store cannot be
// told apart by its path. dnsmasq's `tftp-unique-root=mac` (packaging/dnsmasq-lifeboat.conf)
// serves a client from DIR/<its MAC, as 52-54-00-12-34-56>/ when that folder exists, and from DIR
// otherwise. While a machine has a network recovery boot, the controller keeps such a root for
// each of its MAC addresses: symbolic links to the shared tree, except that
//   - the first file the firmware loads (uefi/bootx64.efi, bios/lifeboat.0) is the boot's own
//     boot manager (bootmgfw.efi, pxeboot.n12): the firmware loads Microsoft's signed boot manager
//     itself, as from a Windows Deployment Services server;
//   - Boot/ is the boot's own store folder (UEFI's, or BIOS's once pxeboot.n12 was loaded), and
//     bios/bootmgr.exe the boot's (pxeboot.n12 loads it from its own folder);
//   - restart.cfg (only while the first files are the boot managers) is the tree's
//     lifeboat/restart.cfg: GRUB, where a machine chose the site-wide entry, restarts the machine
//     into its boot manager through it (controller/site_entry.h); other TFTP servers have no
//     such file at the top, and GRUB chainloads instead;
//   - once the boot is under way (its boot manager reads its store, or minutes have passed), the
//   first
//     files are the shared loaders again, so the machine's next network boot goes through GRUB
//     and its file in lifeboat/machines/ (its local disk). Not sooner: firmware opens the file it
//     boots twice, first only to learn its size (TFTP's tsize), and must get the same file twice.
// Links, not copies: opening bootmgfw.efi through a root opens it in the boot's folder, where the
// controller's open watch sees it. Sites whose TFTP server has no per-client roots (or machines
// behind a DHCP relay, whose MAC dnsmasq cannot see) use GRUB's way instead
// (controller/recovery_sessions.h, boot.cfg).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::controller {

struct ClientRootSpec {
  std::string folder;         // the boot's folder in the tree, "lifeboat/recovery/<token>"
  bool uefi = false;          // the boot's folder holds bootmgfw.efi and EFI/Microsoft/Boot/BCD
  bool bios = false;          // ... pxeboot.n12, bootmgr.exe and Boot/BCD
  bool boot_managers = true;  // the first files are the boot's boot managers (else the shared)
  bool bios_store = false;    // Boot/ is the BIOS store (else UEFI's, when the image has one)
};

// What the shared tree holds, as the links need it: its top-level entries and the files of its
// uefi/ and bios/ folders.
struct SharedTree {
  std::vector<std::string> top;
  std::vector<std::string> uefi;
  std::vector<std::string> bios;
};

// dnsmasq's name for a MAC address "aa:bb:cc:dd:ee:ff": "aa-bb-cc-dd-ee-ff".
[[nodiscard]] std::string ClientRootName(const std::string& mac);
// Whether a top-level name of the tree is a client root.
[[nodiscard]] bool IsClientRootName(const std::string& name);

// A client root's links: path inside the root -> the link's target (relative). Pure.
[[nodiscard]] std::map<std::string, std::string> ClientRootLinks(const ClientRootSpec& spec,
                                                                 const SharedTree& shared);

// The client roots of the tree in `netboot_dir`. Not thread-safe (RecoverySessions serialises).
class ClientRoots {
 public:
  explicit ClientRoots(std::string netboot_dir) : dir_(std::move(netboot_dir)) {}
  // Removes every client root (what an earlier run left). Errors: kIo.
  [[nodiscard]] Result<void> RemoveAll();
  // Makes the root of each MAC hold exactly `spec`'s links: built beside it and swapped in with
  // one rename, so the server sees the old root or the new one. Errors: kIo naming the folder.
  [[nodiscard]] Result<void> Set(const std::vector<std::string>& macs, const ClientRootSpec& spec);
  // Removes the roots of these MACs (nothing for a MAC without one).
  void Remove(const std::vector<std::string>& macs);

 private:
  [[nodiscard]] Result<SharedTree> ListShared() const;
  const std::string dir_;
};

}  // namespace lifeboat::controller
