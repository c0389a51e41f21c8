#include "agent/recovery_volume.h"

#include "agent/json_codec.h"
#include "common/sha256.h"

namespace lifeboat::agent {

std::string VersionFolder(const std::string& version) {
  return std::string(kLifeboatFolder) + "\\" + version;
}
std::string WimPath(const std::string& version) { return VersionFolder(version) + "\\boot.wim"; }
std::string SdiPath(const std::string& version) { return VersionFolder(version) + "\\boot.sdi"; }
std::string ManifestPath(const std::string& version) {
  return VersionFolder(version) + "\\lifeboat.json";
}

std::string VersionOfWimPath(const std::string& wim_path) {
  std::string prefix = std::string(kLifeboatFolder) + "\\";
  std::string suffix = "\\boot.wim";
  if (!wim_path.starts_with(prefix) || !wim_path.ends_with(suffix)) return {};
  std::string version =
      wim_path.substr(prefix.size(), wim_path.size() - prefix.size() - suffix.size());
  auto checked = Version::Parse(version);  // a folder name found on the disk
  return checked ? checked->str() : std::string();
}

RecoveryVolume::RecoveryVolume(partition::LoopDevice loop,
                               std::unique_ptr<image::NtfsVolume> volume)
    : loop_(std::move(loop)), volume_(std::move(volume)) {}

Result<std::unique_ptr<RecoveryVolume>> RecoveryVolume::Open(const std::string& disk,
                                                             const partition::DiskModel& model,
                                                             const partition::Partition& p,
                                                             bool writable) {
  auto loop = partition::LoopDevice::Attach(disk, ToBytes(p.start, model.sector_size),
                                            ToBytes(p.size, model.sector_size), model.sector_size,
                                            !writable);
  LIFEBOAT_TRY(loop);
  auto volume =
      image::NtfsVolume::Open(loop->path(), writable ? image::NtfsVolume::Mode::kReadWrite
                                                     : image::NtfsVolume::Mode::kReadOnly);
  if (!volume) {
    return std::unexpected(
        volume.error().Context("Lifeboat's partition " + std::to_string(p.number) + " of " + disk));
  }
  return std::unique_ptr<RecoveryVolume>(new RecoveryVolume(std::move(*loop), std::move(*volume)));
}

Result<std::vector<std::string>> RecoveryVolume::Versions() {
  auto names = volume_->List(kLifeboatFolder);
  if (!names && names.error().code == ErrorCode::kNotFound) return std::vector<std::string>{};
  return names;
}

Result<std::optional<Manifest>> RecoveryVolume::ReadManifest(const std::string& version) {
  auto bytes = volume_->ReadFile(ManifestPath(version));
  if (!bytes) {
    if (bytes.error().code == ErrorCode::kNotFound) return std::optional<Manifest>{};
    return std::unexpected(bytes.error());
  }
  auto manifest = ManifestFromJson(std::string(bytes->begin(), bytes->end()));
  if (!manifest) return std::optional<Manifest>{};
  return std::optional<Manifest>{*manifest};
}

Result<Bytes> RecoveryVolume::FreeSpace() { return volume_->FreeSpace(); }

Result<std::vector<std::string>> RecoveryVolume::Contents() {
  auto names = volume_->List("\\");
  LIFEBOAT_TRY(names);
  std::vector<std::string> contents;
  for (const auto& name : *names) {
    // NTFS's own metadata files; mkntfs makes nothing else.
    if (!name.starts_with("$")) contents.push_back(name);
  }
  return contents;
}

Result<void> RecoveryVolume::RemoveVersion(const std::string& version) {
  return volume_->Remove(VersionFolder(version));
}

Result<void> RecoveryVolume::WriteVersion(const std::string& version, const image::ImageInfo& image,
                                          const std::vector<uint8_t>& sdi,
                                          const image::NtfsVolume::Progress& progress) {
  // Start from an empty folder: whatever an interrupted write left is not trusted.
  if (auto r = volume_->Remove(VersionFolder(version)); !r) return r;
  if (auto r = volume_->MakeDirectories(VersionFolder(version)); !r) return r;
  // The source is hashed as it is copied: bytes that are not the image's (changed since it was
  // checked, or never checked beyond its metadata and proven only by its signed hash) are
  // removed, not left for a later run to mistake for a copy. VerifyVersion then reads the copy
  // back.
  auto copied = volume_->CopyIn(image.path, WimPath(version), progress);
  LIFEBOAT_TRY(copied);
  if (*copied != image.sha256) {
    (void)volume_->Remove(VersionFolder(version));
    return Fail(ErrorCode::kVerification, image.path + " hashed to SHA-256 " + *copied +
                                              " as it was written, not the " + "image's " +
                                              image.sha256 + "; the copy was removed");
  }
  return volume_->WriteFile(SdiPath(version), sdi);
}

Result<void> RecoveryVolume::VerifyVersion(const std::string& version,
                                           const image::ImageInfo& image,
                                           const std::string& sdi_sha256) {
  auto wim = volume_->HashFile(WimPath(version));
  LIFEBOAT_TRY(wim);
  if (*wim != image.sha256) {
    return Fail(ErrorCode::kVerification, WimPath(version) + " reads back with SHA-256 " + *wim +
                                              ", not the image's " + image.sha256);
  }
  auto sdi = volume_->HashFile(SdiPath(version));
  LIFEBOAT_TRY(sdi);
  if (*sdi != sdi_sha256) {
    return Fail(ErrorCode::kVerification,
                SdiPath(version) + " reads back with SHA-256 " + *sdi + ", not " + sdi_sha256);
  }
  return {};
}

Result<void> RecoveryVolume::WriteManifest(const Manifest& manifest) {
  std::string json = ManifestToJson(manifest);
  return volume_->WriteFile(ManifestPath(manifest.version),
                            std::vector<uint8_t>(json.begin(), json.end()));
}

Result<std::optional<uint64_t>> RecoveryVolume::WimSize(const std::string& version) {
  auto size = volume_->FileSize(WimPath(version));
  if (!size) {
    if (size.error().code == ErrorCode::kNotFound) return std::optional<uint64_t>{};
    return std::unexpected(size.error());
  }
  return std::optional<uint64_t>{*size};
}

Result<std::string> RecoveryVolume::HashWim(const std::string& version) {
  return volume_->HashFile(WimPath(version));
}

Result<void> RecoveryVolume::Close() { return volume_->Close(); }

}  // namespace lifeboat::agent
