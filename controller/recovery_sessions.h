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
//   by a random 128-bit token that only the machine's own file in lifeboat/machines/ names, and it
//   is removed when its boot no longer needs it.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"
#include "common/open_watch.h"
#include "media/medium_source.h"

namespace lifeboat::controller {

struct RecoverySession {
  std::string token;  // the folder's name: 32 hexadecimal digits
  std::string machine_id;
  std::string version;
  bool uefi = false, bios = false;
};

// The session's boot.cfg: UEFI chainloads bootmgfw.efi (the firmware checks its signature, so it
// starts with Secure Boot on), a PXE BIOS chainloads pxeboot.n12, each from the folder; a machine
// whose firmware the image cannot boot, or whose boot manager does not start, goes on to its
// local disk.
[[nodiscard]] std::string RenderRecoveryBootCfg(const RecoverySession& session);

class RecoverySessions {
 public:
  // `started(session, file)` runs (on the watch's thread) when a machine opens the session's boot
  // manager (bootmgfw.efi or pxeboot.n12); it may call Close.
  using Started = std::function<void(const RecoverySession& session, const std::string& file)>;

  // Sessions live in `netboot_dir`/lifeboat/recovery; what an earlier run left there is removed
  // (no machine is told to boot it). Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<RecoverySessions>> Start(
      const std::string& netboot_dir, Started started);
  ~RecoverySessions();

  // Writes and watches a new session folder for `machine_id` to boot `source` (read with
  // media::MediumKind::kNetwork). Errors: those of media::WriteNetworkTree.
  [[nodiscard]] Result<RecoverySession> Open(const std::string& machine_id,
                                             const media::MediumSource& source);
  // Stops watching the session and removes its folder; nothing for an unknown token.
  void Close(const std::string& token);
  // The folder of a session, as the tree serves it: "lifeboat/recovery/<token>".
  [[nodiscard]] static std::string Folder(const std::string& token);

 private:
  RecoverySessions(std::string netboot_dir, Started started);
  void Opened(const std::string& token, const std::string& file);

  const std::string netboot_dir_;
  const Started started_;
  std::unique_ptr<OpenWatch> watch_;
  std::mutex mutex_;
  std::map<std::string, RecoverySession> sessions_;  // by token
};

}  // namespace lifeboat::controller
