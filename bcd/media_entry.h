// The BCD store of a boot medium (an ISO or a USB stick): one WinPE entry booting
// \sources\boot.wim from a RAM disk on the medium itself ("ramdisk=[boot]"), as Windows install
// and recovery media do. Pure: it computes the objects to save into a template store (the WIM's
// own \Windows\Boot\DVD\{EFI,PCAT}\BCD, or an empty store); store.h writes them.
#pragma once

#include <string>
#include <vector>

#include "bcd/device.h"
#include "bcd/store.h"
#include "common/error.h"

namespace lifeboat::bcd {

struct MediaEntrySpec {
  std::string description;  // shown by the boot manager: "Contoso DaRT 10.0.3"
  std::string winload;      // "\windows\system32\boot\winload.efi" (or .exe for BIOS)
  std::string wim_path = "\\sources\\boot.wim";
  std::string sdi_path = "\\boot\\boot.sdi";
  // Over the network: the TFTP block size the boot manager asks for when it loads the WIM
  // (ramdisktftpblocksize; 0 leaves the store's own). Windows' default is 1,432 bytes; larger
  // blocks need fewer round trips, and fit where the network carries jumbo frames or
  // fragments (the TFTP server must allow them).
  uint32_t tftp_block_size = 0;
};

// Windows media's WinPE loader object, used when the template names no loader of its own.
extern const Guid kMediaLoader;

// {bootmgr} (created when the template has none) starting the loader by default and listing only
// it (no tools menu: the template's tools are not on the medium); the loader (the template's
// default one, keeping its locale and other settings, or kMediaLoader) booting the WIM from a RAM
// disk on the boot device; and {ramdiskoptions} naming boot.sdi on the boot device. Objects already
// right are left out.
[[nodiscard]] std::vector<Object> PlanMediaStore(const Store& store, const MediaEntrySpec& spec);

// Whether the store boots exactly the entry `spec` describes, by default and as its only entry.
// `why` says what differs.
bool MediaStoreIntact(const Store& store, const MediaEntrySpec& spec, std::string* why = nullptr);

}  // namespace lifeboat::bcd
