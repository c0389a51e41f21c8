// A file's data moved between a local file and the clusters a volume gave it on a device, with
// direct I/O in large chunks, the next chunk read while the current one is written or hashed: one
// pass over the source both hashes and writes it, one pass over the device reads it back. No
// filesystem knowledge: ntfs_volume.cpp turns a file's runlist into extents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::image {

// `length` bytes of a file starting at `file_offset`, stored at `device_offset`. Device offsets
// are sector-aligned (they start clusters).
struct Extent {
  int64_t file_offset = 0;
  int64_t device_offset = 0;
  int64_t length = 0;
};

// The size of each read and write (large: the device's pace, not the calls').
inline constexpr size_t kExtentChunk = 8 << 20;

// Called with the bytes done so far after each chunk; returning false stops with kIo "stopped".
using ExtentProgress = std::function<bool(uint64_t)>;

// Reads the extents' bytes from `source_fd` (at their file offsets), hashes them in file order,
// and writes them to `device_fd` (opened O_DIRECT) at their device offsets, the last write of an
// extent padded with zeros to a whole sector (the rest of its cluster is the file's slack).
// Flushes the device before returning the source's SHA-256. `what` names the copy in errors.
// Errors: kIo.
[[nodiscard]] Result<std::string> CopyExtents(int source_fd, int device_fd,
                                              const std::vector<Extent>& extents,
                                              size_t sector_size, const ExtentProgress& progress,
                                              const std::string& what);

// The SHA-256 of the extents' bytes read from `device_fd` (opened O_DIRECT), in file order.
// Errors: kIo.
[[nodiscard]] Result<std::string> HashExtents(int device_fd, const std::vector<Extent>& extents,
                                              size_t sector_size, const std::string& what);

}  // namespace lifeboat::image
