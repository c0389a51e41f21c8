// What machines load when they boot from the network: the TFTP tree the controller renders into
// its --netboot-dir, which the site's TFTP server (dnsmasq, packaging/dnsmasq-lifeboat.conf) or
// QEMU serves.
//
//   DIR/uefi/bootx64.efi, DIR/uefi/grubx64.efi, DIR/bios/lifeboat.0   the loaders (from the
//       service environment's build, packaging/service-env/build OUTDIR -> OUTDIR/loaders)
//   DIR/grub/grub.cfg              what both GRUBs run: this machine's file, else discovery
//   DIR/lifeboat/vmlinuz, initrd.img   the service environment
//   DIR/lifeboat/site.cpio         a second initramfs: where the controller is, its CA
//                                  certificate and the image-signing keys agents trust
//   DIR/lifeboat/service.cfg, local.cfg   the two things a machine can be told to boot
//   DIR/lifeboat/machines/<SMBIOS UUID>.cfg, <MAC>.cfg   each known machine's choice
//   DIR/lifeboat/machines/entry-<ticket>-<efi|pc>.cfg   while the operator's site-wide recovery
//                                  entry is published: what choosing it on each machine starts
//
// Per-machine choices are files, not HTTP answers: Debian's signed network GRUB (the one Secure
// Boot accepts) reads only TFTP. A machine with no file of its own is unknown: it boots the service
// environment once, which introduces it to the controller (it shows up as pending) and reboots;
// its file then sends it to its local disk until an operator gives it work.
//
// The local disk is reached by chainloading the disk's own boot manager from GRUB (UEFI: the ESP's
// \EFI\Microsoft\Boot\bootmgfw.efi, checked by the firmware's Secure Boot db like any boot; BIOS:
// the disk's MBR), not by GRUB's `exit`: what firmware does after a network loader exits differs
// between vendors (the next boot option, a menu, the network again), the failure FOG's users report
// most; a chainload does the same thing on every machine.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "controller/admission.h"

namespace lifeboat::controller {

struct NetbootSettings {
  std::string dir;          // the TFTP tree
  std::string service_env;  // packaging/service-env/build's OUTDIR
  std::string address;      // HOST:PORT the service environment reaches the controller's gRPC at
  std::string ca_pem;       // the controller's CA certificate
  std::vector<std::string> trusted_keys;  // PEM public keys images must be signed by
  std::string kernel_args = "quiet";      // added to the service environment's command line
  // HOST:PORT machines reach the tree at over HTTP (controller/netboot_http.h); GRUB then loads
  // the kernel and initrd over HTTP rather than TFTP. Empty: TFTP only.
  std::string http_address;
};

// The operator's site-wide recovery entry as the tree offers it (controller/site_entry.h). Each
// accepted machine with nothing else to boot gets the entry folder's menu.cfg, which starts its
// local disk after the entry's timeout unless someone at the machine chooses the recovery entry.
// Choosing it opens the machine's own ticket file, entry-<ticket>-<efi|pc>.cfg in
// lifeboat/machines/ (the controller learns this way which machine chose it, with which
// firmware), which starts the entry folder's boot.cfg.
struct SiteMenu {
  std::string folder;                          // "lifeboat/recovery/<token>"; empty: no entry
  std::map<std::string, std::string> tickets;  // machine id -> its ticket (32 hex digits)
};

// The name of a ticket file; `platform` is GRUB's: "efi" or "pc".
[[nodiscard]] std::string SiteTicketFile(const std::string& ticket, const std::string& platform);
// The entry folder's menu.cfg: the local disk first and by default, after `timeout_seconds`; the
// recovery image of `version` second, on the key R. Nothing else: no editing, no GRUB prompt.
[[nodiscard]] std::string RenderSiteMenuCfg(const std::string& version, uint32_t timeout_seconds);

// The files of the tree that depend on nothing but the settings (paths relative to DIR).
std::map<std::string, std::string> RenderNetbootConfigs(const NetbootSettings& settings);
// Each entry's file(s) under lifeboat/machines/: one per usable UUID and one per MAC address; and
// the ticket files of the machines `site` offers its menu to.
std::map<std::string, std::string> RenderMachineFiles(const std::vector<NetbootEntry>& entries,
                                                      const SiteMenu& site = {});
// service.conf of the service environment's agent (in site.cpio).
std::string RenderServiceConf(const NetbootSettings& settings);

// The tree on disk. Every file is written to a temporary name and renamed into place, so a TFTP
// server never serves half a file.
class NetbootTree {
 public:
  // Writes everything but the machines' files: checks that the service environment and its
  // loaders are there (kNotFound naming the file and how to make it). Errors: kIo.
  [[nodiscard]] static Result<NetbootTree> Create(const NetbootSettings& settings);
  // Makes lifeboat/machines/ hold exactly `files` (name -> content), writing only what changed.
  // Returns how many files it wrote or removed.
  [[nodiscard]] Result<size_t> SetMachineFiles(const std::map<std::string, std::string>& files);

 private:
  explicit NetbootTree(std::string machines_dir) : machines_dir_(std::move(machines_dir)) {}
  std::string machines_dir_;
  std::map<std::string, std::string> written_;  // what lifeboat/machines/ holds
};

// Keeps the machines' files in step with the controller's decisions: re-renders them when poked
// (Admission's change callback) and every few seconds besides (a wave opening, a rollout
// finishing). Owns its thread.
class NetbootPublisher {
 public:
  // What the site-wide recovery entry offers the machines of these entries.
  using SiteOffer = std::function<SiteMenu(const std::vector<NetbootEntry>& entries)>;

  NetbootPublisher(NetbootTree tree, Admission& admission);
  ~NetbootPublisher();
  // From now on, renders the site-wide entry's menus as `offer` says (none before). Null: the
  // offer's owner is going away (the files stay as they are until the next render).
  void OfferSiteEntry(SiteOffer offer);
  void Poke();
  // Renders now, on the caller's thread (the first time, before machines are served).
  [[nodiscard]] Result<size_t> PublishNow();

 private:
  void Loop(std::stop_token stop);
  NetbootTree tree_;
  Admission& admission_;
  std::mutex mutex_;  // the tree and the offer; one render at a time
  SiteOffer site_offer_;
  std::mutex poke_mutex_;
  std::condition_variable_any poked_;
  bool pending_ = false;
  std::jthread thread_;
};

}  // namespace lifeboat::controller
