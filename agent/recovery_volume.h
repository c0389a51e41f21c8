// Lifeboat's recovery partition seen as files: one folder per image version under
// \Recovery\Lifeboat, holding boot.wim, boot.sdi and lifeboat.json (the manifest).
//
// Crash contract: the manifest is written last, after the image and boot.sdi have been read
// back and match their hashes; a version folder without a manifest is an interrupted write and
// is rewritten, never booted (the BCD is switched to a version only once its manifest exists).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/image_manifest.h"
#include "common/version.h"
#include "image/ntfs_volume.h"
#include "image/wim_file.h"
#include "partition/disk_model.h"
#include "partition/loop_device.h"

namespace lifeboat::agent {

inline constexpr const char* kLifeboatFolder = "\\Recovery\\Lifeboat";

std::string VersionFolder(const std::string& version);
std::string WimPath(const std::string& version);
std::string SdiPath(const std::string& version);
std::string ManifestPath(const std::string& version);
// The version whose folder holds `wim_path`, or empty.
std::string VersionOfWimPath(const std::string& wim_path);

// The image's identity (sha256 is boot.wim's), and boot.sdi's hash beside it.
struct Manifest : ImageManifest {
  std::string sdi_sha256;
};

// What apply does with the files of Lifeboat's partition: RecoveryVolume on a disk; in memory for
// tests of apply's executor.
class RecoveryFiles {
 public:
  virtual ~RecoveryFiles() = default;
  // Version folders present, sorted.
  [[nodiscard]] virtual Result<std::vector<std::string>> Versions() = 0;
  [[nodiscard]] virtual Result<Bytes> FreeSpace() = 0;
  [[nodiscard]] virtual Result<void> RemoveVersion(const std::string& version) = 0;
  // Writes boot.wim (streamed, `progress` after each chunk) and boot.sdi into a fresh folder.
  [[nodiscard]] virtual Result<void> WriteVersion(const std::string& version,
                                                  const image::ImageInfo& image,
                                                  const std::vector<uint8_t>& sdi,
                                                  const image::NtfsVolume::Progress& progress) = 0;
  // Reads both files back and compares them with the image's hashes. Errors: kVerification.
  [[nodiscard]] virtual Result<void> VerifyVersion(const std::string& version,
                                                   const image::ImageInfo& image,
                                                   const std::string& sdi_sha256) = 0;
  [[nodiscard]] virtual Result<void> WriteManifest(const Manifest& manifest) = 0;
  // Flushes (and, on a disk, unmounts).
  [[nodiscard]] virtual Result<void> Close() = 0;
};

// The NTFS volume of Lifeboat's partition, through a loop device (root). Blocks on I/O.
class RecoveryVolume : public RecoveryFiles {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RecoveryVolume>> Open(
      const std::string& disk, const partition::DiskModel& model,
      const partition::Partition& partition, bool writable);

  [[nodiscard]] Result<std::vector<std::string>> Versions() override;
  // The manifest of a version; nothing when the folder or its manifest is missing or unreadable.
  [[nodiscard]] Result<std::optional<Manifest>> ReadManifest(const std::string& version);
  [[nodiscard]] Result<Bytes> FreeSpace() override;
  // What the root folder holds beyond NTFS's own metadata files: nothing on a volume mkntfs just
  // made.
  [[nodiscard]] Result<std::vector<std::string>> Contents();
  [[nodiscard]] Result<void> RemoveVersion(const std::string& version) override;
  [[nodiscard]] Result<void> WriteVersion(const std::string& version, const image::ImageInfo& image,
                                          const std::vector<uint8_t>& sdi,
                                          const image::NtfsVolume::Progress& progress) override;
  [[nodiscard]] Result<void> VerifyVersion(const std::string& version,
                                           const image::ImageInfo& image,
                                           const std::string& sdi_sha256) override;
  [[nodiscard]] Result<void> WriteManifest(const Manifest& manifest) override;
  // Size of boot.wim of a version, if present.
  [[nodiscard]] Result<std::optional<uint64_t>> WimSize(const std::string& version);
  [[nodiscard]] Result<std::string> HashWim(const std::string& version);
  [[nodiscard]] Result<void> Close() override;

 private:
  RecoveryVolume(partition::LoopDevice loop, std::unique_ptr<image::NtfsVolume> volume);
  partition::LoopDevice loop_;
  std::unique_ptr<image::NtfsVolume> volume_;
};

}  // namespace lifeboat::agent
