// Files inside an NTFS volume, read and written with libntfs-3g (used only in ntfs_volume.cpp)
// without mounting it: the Lifeboat partition's images and, on BIOS machines, the System Reserved
// partition's \Boot\BCD. The volume is a block device or a loop device over a partition.
//
// Crash contract: libntfs-3g writes its metadata when a file is closed and when Close() unmounts;
// a process killed before that may leave the file being written short, unallocated or reading as
// zeros, or its folder without it, but not a volume that ntfs-3g refuses to mount (the next
// writer replaces the file). Callers therefore never trust a file they did not verify.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::image {

// Paths are Windows style, from the volume root: "\Recovery\Lifeboat\1.0\boot.wim". Lookups
// ignore case, as Windows does. Blocks on disk I/O. Not thread-safe.
class NtfsVolume {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  // Errors: kNotFound (no device), kCorrupt (not NTFS or damaged), kBusy (in use).
  [[nodiscard]] static Result<std::unique_ptr<NtfsVolume>> Open(const std::string& device,
                                                                Mode mode);
  ~NtfsVolume();  // unmounts; use Close() to see whether the final flush worked
  NtfsVolume(const NtfsVolume&) = delete;
  NtfsVolume& operator=(const NtfsVolume&) = delete;

  // Flushes and unmounts. Errors: kIo.
  [[nodiscard]] Result<void> Close();

  [[nodiscard]] Result<bool> Exists(const std::string& path);
  // Size of a file's data; kNotFound when there is no such file.
  [[nodiscard]] Result<uint64_t> FileSize(const std::string& path);
  // Names in a folder (long names only), sorted; kNotFound when there is no such folder.
  [[nodiscard]] Result<std::vector<std::string>> List(const std::string& dir);
  // Creates the folder and its parents where missing.
  [[nodiscard]] Result<void> MakeDirectories(const std::string& dir);
  // A whole small file (a manifest, a BCD store).
  [[nodiscard]] Result<std::vector<uint8_t>> ReadFile(const std::string& path);
  // Replaces the file's contents with `bytes`, creating it if needed.
  [[nodiscard]] Result<void> WriteFile(const std::string& path, const std::vector<uint8_t>& bytes);

  // Streams a local file into `path` (created or replaced): libntfs-3g allocates its clusters,
  // the bytes are written straight to them in large chunks and flushed (image/extent_io.h), and
  // only then is the file's initialized size recorded. `progress(bytes_done)` is called after
  // each chunk; returning false stops the copy with kIo ("stopped"). Returns the SHA-256 of the
  // source bytes as they were read for the copy (one pass: the caller compares it with the hash
  // it trusts), and verifies the copy by reading it back (HashFile). Errors: kNotFound (no
  // source), kRefused (volume full), kIo.
  using Progress = std::function<bool(uint64_t)>;
  [[nodiscard]] Result<std::string> CopyIn(const std::string& local_file, const std::string& path,
                                           const Progress& progress);
  // SHA-256 of a file read back from the volume (a large plain file straight from the device).
  [[nodiscard]] Result<std::string> HashFile(const std::string& path);

  // Removes a file, or a folder with everything in it. Missing is not an error.
  [[nodiscard]] Result<void> Remove(const std::string& path);
  // Bytes the volume has free.
  [[nodiscard]] Result<Bytes> FreeSpace();

 private:
  struct Impl;
  explicit NtfsVolume(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::image
