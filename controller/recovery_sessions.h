// Network recovery boots (the DaRT planning guide's remote partition), each served from a folder
// of its own in the network boot tree: DIR/lifeboat/recovery/<token>/, the image laid out by
// media/network_tree.h plus boot.cfg, the GRUB script that starts its boot manager. So that:
// - a machine loads one version's files from start to end: its folder's BCD stores name that
//   folder, and another version (or another request) gets another folder, so a version switch
//   never mixes two sets;
// - the controller learns when a machine starts loading its boot manager (common/open_watch.h:
//   the file was opened, by whichever TFTP or HTTP server reads the tree), to end the request
//   (a request is for one boot) and to record the boot;
// - the recovery image is served only while a boot is asked for or in flight: the folder is named
//   by a random 128-bit token that only the machine's own files name (its file in
//   lifeboat/machines/ and its client roots), and it is removed when its boot no longer needs it;
// - Windows' boot managers, which read \Boot\BCD, find the boot's own store: each of the machine's
//   MAC addresses gets a client root for dnsmasq's per-client TFTP roots
//   (controller/client_roots.h), from which the firmware loads the boot manager itself.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/open_watch.h"
#include "controller/client_roots.h"
#include "media/medium_source.h"

namespace lifeboat::controller {

struct RecoverySession {
  std::string token;  // the folder's name: 32 hexadecimal digits
  std::string machine_id;
  std::string version;
  bool uefi = false, bios = false;
  std::vector<std::string> macs;  // the machine's, each with a client root
  bool started = false;           // its boot manager was opened
  bool bios_started = false;      // pxeboot.n12 was opened: the client roots serve BIOS's store
  bool released = false;          // the client roots' first files are the shared loaders
  // An ISO session: BIOS GRUB starts iPXE (bios/ipxe.lkrn), which boots the folder's recovery.iso
  // from this URL (the controller's --netboot-http) as a CD; no boot managers, no client roots.
  std::string iso_url = {};
  // When a file of the folder was last opened, by anyone (the folder is in use).
  std::chrono::steady_clock::time_point last_opened = {};
};

// The session's boot.cfg: UEFI chainloads bootmgfw.efi (the firmware checks its signature, so it
// starts with Secure Boot on), a PXE BIOS chainloads pxeboot.n12, each from the folder; an ISO
// session's BIOS starts iPXE with `dhcp && sanboot URL`. A machine whose firmware the session
// cannot boot, or whose loader does not start, goes on to its local disk.
[[nodiscard]] std::string RenderRecoveryBootCfg(const RecoverySession& session);

class RecoverySessions {
 public:
  // `started(session, file)` runs (on the watch's thread) when a machine opens the session's boot
  // manager (bootmgfw.efi or pxeboot.n12); it may call Close.
  using Started = std::function<void(const RecoverySession& session, const std::string& file)>;

  // Sessions live in `netboot_dir`/lifeboat/recovery; what an earlier run left there, and its
  // client roots, are removed (no machine is told to boot them). Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<RecoverySessions>> Start(
      const std::string& netboot_dir, Started started);
  ~RecoverySessions();

  // Writes and watches a new session folder for `machine_id` to boot `source` (read with
  // media::MediumKind::kNetwork), and points the client roots of `macs` at it (taking them from
  // any earlier session). Errors: those of media::WriteNetworkTree, kIo.
  // With no machine (and no MACs), a shared session: the site-wide entry's (controller/
  // site_entry.h), whose machines are attached to it when they choose it.
  [[nodiscard]] Result<RecoverySession> Open(const std::string& machine_id,
                                             const std::vector<std::string>& macs,
                                             const media::MediumSource& source);
  // An ISO session: the folder holds `source`'s ISO (read with media::MediumKind::kCd), served
  // over HTTP at `http_address` (HOST:PORT). Errors: those of media::WriteIso, kIo.
  [[nodiscard]] Result<RecoverySession> OpenIso(const std::string& machine_id,
                                                const media::MediumSource& source,
                                                const std::string& http_address);
  // A machine chose the shared session `token` from GRUB, with a BIOS (`bios`) or UEFI: the client
  // roots of its `macs` give its boot manager that firmware's store of the session, and with
  // `boot_managers` make the session's boot manager the first file the firmware loads (the
  // machine restarts into it; controller/site_entry.h). Errors: kNotFound (no such session), kIo.
  [[nodiscard]] Result<void> Attach(const std::string& token, const std::vector<std::string>& macs,
                                    bool bios, bool boot_managers);
  // Removes the client roots of `macs` that still serve the session `token`.
  void Detach(const std::string& token, const std::vector<std::string>& macs);
  // When a file of the session's folder was last opened (nothing for an unknown token).
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> LastOpened(
      const std::string& token);
  // The boot is under way: the client roots' first files go back to the shared loaders (so the
  // machine's next network boot goes to GRUB). Done by itself when the boot manager reads its
  // store or loads boot.sdi or the WIM; NetworkRecovery calls it too, minutes after the start.
  // Nothing for an unknown token.
  void ReleaseBootManagers(const std::string& token);
  // Whether a boot of the machine started and its boot manager has not read its store yet: it still
  // reads \Boot\BCD through its client roots, which another session of the machine would take.
  [[nodiscard]] bool Loading(const std::string& machine_id);
  // Stops watching the session and removes its folder and the client roots it still has; nothing
  // for an unknown token.
  void Close(const std::string& token);
  // The folder of a session, as the tree serves it: "lifeboat/recovery/<token>".
  [[nodiscard]] static std::string Folder(const std::string& token);

 private:
  RecoverySessions(std::string netboot_dir, Started started);
  void Opened(const std::string& tag, const std::string& file);
  // Rewrites the client roots the session still owns from its state. Under mutex_.
  void UpdateClientRoots(const std::string& token);

  const std::string netboot_dir_;
  const Started started_;
  std::unique_ptr<OpenWatch> watch_;
  std::mutex mutex_;
  std::map<std::string, RecoverySession> sessions_;  // by token
  ClientRoots client_roots_;                         // under mutex_
  std::map<std::string, std::string> root_owner_;    // MAC -> the token its client root serves
};

}  // namespace lifeboat::controller
