// Composing a recovery image with wimlib: one image of a base WIM with a staged folder tree laid
// over its root, written as a new WIM holding that one image, marked bootable. The base file is
// only read. Reproducible: the caller gives the GUID and the time stamped on the image, the
// staged tree carries its own fixed times, and wimlib orders files by path.
// Blocks while it reads the base and compresses what was added (wimlib uses every core).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"

namespace lifeboat::image {

struct BaseImage {
  std::string path;
  unsigned image_count = 0;
  unsigned boot_index = 0;
  unsigned index = 0;        // the image the composition starts from
  std::string name;          // of that image
  std::string architecture;  // x86, x64, arm64, arm, unknown
  std::string compression;   // none, XPRESS, LZX, LZMS
  uint32_t chunk_size = 0;
};

// Opens `path` (integrity table checked when present) and chooses image `index`, or the boot
// image when `index` is 0. Errors: kNotFound, kCorrupt, kUnsupported (split; no boot index and no
// index given; an index beyond the images), each naming the file.
[[nodiscard]] Result<BaseImage> ReadBaseImage(const std::string& path, unsigned index);

struct Composition {
  BaseImage base;
  std::string staged_root;  // a folder whose tree is laid over the image's root
  std::string name, description;
  std::array<uint8_t, 16> guid{};
  int64_t timestamp = 0;  // Unix seconds: the image's creation and modification time
  // Called as bytes are written; may be empty.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// The base copied to the output path, its integrity table checked and its other images dropped:
// the slow half of a composition (the check reads the whole base), which needs nothing staged,
// so a caller may run it on a thread of its own while it stages the additions. Holds an open
// wimlib handle: hand it between threads, never use it from two at once.
class BaseCopy {
 public:
  BaseCopy();
  ~BaseCopy();
  BaseCopy(BaseCopy&&) noexcept;
  BaseCopy& operator=(BaseCopy&&) noexcept;

 private:
  friend Result<BaseCopy> CopyBaseImage(const BaseImage&, const std::string&);
  friend Result<void> WriteComposedImage(BaseCopy, const Composition&);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Copies `base.path` to `out_path` (which must not exist) and opens the copy. Errors: kIo (cannot
// copy), kCorrupt (the integrity table does not match), naming the file.
[[nodiscard]] Result<BaseCopy> CopyBaseImage(const BaseImage& base, const std::string& out_path);

// Lays the staged tree over the copy's image and writes it in place with the base's compression
// and chunk size, and an integrity table. Not fsynced: the caller flushes the file (while it
// hashes it) before it renames it into place. Errors: kIo (cannot write), kCorrupt (the base
// cannot be read), naming the file.
[[nodiscard]] Result<void> WriteComposedImage(BaseCopy copy, const Composition& composition);

}  // namespace lifeboat::image
