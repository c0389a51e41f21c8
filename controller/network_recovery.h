// Network recovery boots (the DaRT planning guide's remote partition): an operator asks that a
// machine's next network boot start a published recovery image (lifeboatctl machine boot-recovery
// ID --network [--image V]). The request is stored with the machine's identity; a folder of its
// own is written for the boot (controller/recovery_sessions.h) and the machine's file in the
// network boot tree sends it there. When the machine opens the boot manager in that folder, the
// request is over: its file sends it back to its local disk (a request is for one boot), and the
// audit log records the boot with the machine, the version and the operator who asked. The folder
// stays while the boot may still need it (its lease), then goes. Unknown machines, and machines
// without a request, never get a folder: they boot what they booted before.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.h"
#include "controller/access.h"
#include "controller/admission.h"
#include "controller/fleet.h"
#include "controller/recovery_sessions.h"
#include "controller/site_entry.h"

namespace lifeboat::controller {

class NetworkRecovery {
 public:
  // How long a started boot keeps its folder (TFTP loads a 500 MB WIM in minutes).
  static constexpr std::chrono::seconds kDefaultLease{std::chrono::hours(2)};
  // How long after its start a boot's client roots still give the firmware its boot manager, when
  // the boot never loads boot.sdi or the WIM (controller/client_roots.h).
  static constexpr std::chrono::seconds kBootManagerGrace{std::chrono::minutes(2)};

  // Serves recovery boots from `netboot_dir`. Requests stored from an earlier run get new folders.
  // Errors: kIo, kDatabase.
  // `http_address` (HOST:PORT, empty: none) is where machines reach the tree over HTTP
  // (--netboot-http): ISO boots need it.
  [[nodiscard]] static Result<std::unique_ptr<NetworkRecovery>> Start(
      const std::string& netboot_dir, const std::string& http_address, Admission& admission,
      Fleet& fleet, Access& access, std::chrono::seconds lease = kDefaultLease);
  ~NetworkRecovery();

  // Asks that the machine's next network boot start `version` (empty: the newest published
  // image), for `operator_name`. Replaces an earlier request of the machine that has not started.
  // Returns the version. Errors: kNotFound (no such machine or identity, no such image),
  // kConflict (the image is retired, or the machine's boot manager is loading: a new request
  // would change the store it is about to read), kUnsupported (it cannot boot from the network),
  // the refusal "image-expired", kIo.
  // With `iso`, the machine boots the image's ISO over HTTP through iPXE (BIOS machines;
  // kUnsupported without an HTTP address or without bios/ipxe.lkrn in the tree).
  [[nodiscard]] Result<std::string> Request(const std::string& machine_id,
                                            const std::string& version,
                                            const std::string& operator_name, bool iso = false);

  // The operator's site-wide entry, served from the same tree (controller/site_entry.h).
  [[nodiscard]] SiteEntry& site() { return *site_; }

 private:
  NetworkRecovery(std::string netboot_dir, std::string http_address, Admission& admission,
                  Fleet& fleet, Access& access, std::chrono::seconds lease);
  // A machine opened its boot manager: the request is over.
  void Started(const RecoverySession& session, const std::string& file);
  [[nodiscard]] Result<RecoverySession> OpenSession(const std::string& machine_id,
                                                    const std::string& version, bool iso);
  void Sweep(std::stop_token stop);  // closes the folders whose lease is over

  const std::string netboot_dir_;
  const std::string http_address_;
  Admission& admission_;
  Fleet& fleet_;
  Access& access_;
  const std::chrono::seconds lease_;
  std::unique_ptr<RecoverySessions> sessions_;
  std::unique_ptr<SiteEntry> site_;  // uses sessions_
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> started_;  // token -> when
  std::condition_variable_any wake_;
  std::jthread sweeper_;
};

}  // namespace lifeboat::controller
