// The recovery image laid out for a network boot (the DaRT planning guide's remote partition):
// one folder per version, inside the network boot tree that TFTP (and the controller's HTTP)
// serve. Everything but the WIM comes from the WIM itself:
//   bootmgfw.efi                UEFI: Windows' boot manager (\Windows\Boot\EFI), Microsoft-signed
//   pxeboot.n12, bootmgr.exe    BIOS: the PXE first file (\Windows\Boot\PXE) and what it loads
//   Boot/BCD                    the BIOS store (winload.exe)
//   EFI/Microsoft/Boot/BCD      the UEFI store (winload.efi)
//   boot.sdi, boot.wim
// Both stores boot the WIM from a RAM disk on the boot device, which on the network is the TFTP
// server the boot manager came from, by the folder's path as TFTP clients name it; the WIM comes
// with a larger TFTP block size than Windows' default. Blocks on wimlib, hivex and file I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "media/medium_source.h"

namespace lifeboat::media {

struct NetworkTreeRequest {
  std::string folder;     // made whole, under a temporary name renamed into place; must not exist
  std::string served_as;  // the folder as TFTP clients name it: "\lifeboat\recovery\1.0"
  uint32_t tftp_block_size = 8192;
};

struct NetworkTree {
  std::vector<std::string> files;  // relative to the folder, '/'-separated
  bool uefi = false, bios = false;
};

// Writes the folder for `source` (read with MediumKind::kNetwork). The WIM is linked when it is on
// the same file system (it is never changed: published images are not), else copied. Each store
// is decoded again before the folder is renamed into place. Errors: kAlreadyExists (the folder
// exists), kInvalidArgument (served_as is not a '\'-rooted path of letters, digits, ., _ and -),
// kIo, kCorrupt.
[[nodiscard]] Result<NetworkTree> WriteNetworkTree(const MediumSource& source,
                                                   const NetworkTreeRequest& request);

}  // namespace lifeboat::media
