// Reading the archives recovery images are composed from — ZIP, Microsoft CAB and ISO 9660 (with
// Joliet and Rock Ridge names) — through libarchive, used only here and in cpio_archive.cpp.
// Nothing is written through libarchive's disk writer: members are copied into files the caller
// names, each created anew, so that a member's own name never decides where bytes land.
// Blocks while it reads the archive.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat {

struct ArchiveMember {
  enum class Kind { kFile, kDirectory, kOther };  // kOther: a link, a device, a FIFO
  std::string path;  // as the archive stores it (no separator or "./" clean-up)
  uint64_t size = 0;
  Kind kind = Kind::kFile;
};

// Every member, in the archive's order. Errors: kNotFound (no file), kCorrupt (not an archive of a
// kind libarchive reads, or damaged), each naming the file and libarchive's reason.
[[nodiscard]] Result<std::vector<ArchiveMember>> ListArchive(const std::string& archive);

// Reads the archive once and copies each member whose stored path is a key of `destinations` into
// the file named by its value, which must not exist (O_EXCL, O_NOFOLLOW). Errors: kCorrupt (a
// damaged archive, or a wanted member missing), kIo (a destination cannot be written).
[[nodiscard]] Result<void> ExtractMembers(const std::string& archive,
                                          const std::map<std::string, std::string>& destinations);

}  // namespace lifeboat
