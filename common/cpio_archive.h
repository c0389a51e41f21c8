// An initramfs fragment: a cpio archive in the "newc" format the Linux kernel unpacks, written with
// libarchive (used only in cpio_archive.cpp). The kernel unpacks initramfs archives one after the
// other into the same root, so a small one given after the main one adds files to it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat {

struct CpioEntry {
  std::string path;     // relative ("etc/lifeboat/ca.pem"); a directory when `directory`
  std::string content;  // a file's bytes
  mode_t mode = 0644;
  bool directory = false;
};

// The archive's bytes (entries in the order given: directories before what they hold).
// Errors: kIo with libarchive's message.
[[nodiscard]] Result<std::string> MakeCpio(const std::vector<CpioEntry>& entries);

}  // namespace lifeboat
