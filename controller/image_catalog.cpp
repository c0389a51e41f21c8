#include "controller/image_catalog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "common/version.h"
#include "compose/image_contents.h"
#include "image/wim_file.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

struct ImageCatalog::Upload::Hash {
  Sha256 sha;
};

ImageCatalog::ImageCatalog(FleetStore& store, std::string data_dir)
    : store_(store), data_dir_(std::move(data_dir)) {
  std::error_code ec;
  fs::create_directories(fs::path(data_dir_) / "images", ec);
  fs::create_directories(fs::path(data_dir_) / "uploads", ec);
}

namespace {

// Writes <blob>.prefixes: the SHA-256 of the blob's bytes [0, end) for every chunk end (each
// multiple of kChunkBytes, then the blob's end), 32 raw bytes each.
Result<void> WritePrefixHashes(const std::string& blob) {
  std::ifstream in(blob, std::ios::binary);
  std::ofstream out(blob + ".prefixes.partial", std::ios::binary | std::ios::trunc);
  std::vector<char> buffer(ImageCatalog::kChunkBytes);
  Sha256 running;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    running.Update({reinterpret_cast<const uint8_t*>(buffer.data()), static_cast<size_t>(n)});
    auto digest = running.DigestSoFar();
    out.write(reinterpret_cast<const char*>(digest.data()),
              static_cast<std::streamsize>(digest.size()));
  }
  out.close();
  if (!out) return Fail(ErrorCode::kIo, "write the prefix hashes of " + blob);
  std::error_code ec;
  fs::rename(blob + ".prefixes.partial", blob + ".prefixes", ec);
  if (ec) return Fail(ErrorCode::kIo, "write the prefix hashes of " + blob + ": " + ec.message());
  return {};
}

}  // namespace

std::optional<std::string> ImageCatalog::PrefixHash(const ImageRecord& image, uint64_t end) const {
  if (end == 0 || end > image.size || (end % kChunkBytes != 0 && end != image.size))
    return std::nullopt;
  std::ifstream in(image.blob_path + ".prefixes", std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(static_cast<std::streamoff>((end - 1) / kChunkBytes * 32));
  uint8_t digest[32];
  if (!in.read(reinterpret_cast<char*>(digest), 32)) return std::nullopt;
  return ToHex(digest);
}

namespace {

// A signature given at publish must describe exactly the image that was checked, and match.
Result<void> CheckSignedBy(const SignedBy& s, const std::string& version,
                           const image::ImageInfo& image) {
  auto bad = [](const std::string& why) { return BadInput("signed_by", "signed_by: " + why); };
  auto expected = compose::ManifestOf(image, version);
  if (!expected) return bad(expected.error().message);
  auto offered = ParseManifestText(s.signature.manifest);
  if (!offered) return bad(offered.error().message);
  if (*offered != *expected) {
    return bad("the manifest describes version " + offered->version + " (" + offered->sha256 +
               ", " + std::to_string(offered->size) + " bytes), not the image published as " +
               version + " (" + image.sha256 + ", " + std::to_string(image.size.value) +
               " bytes) with its name, description and architecture");
  }
  auto id = KeyId(s.public_key);
  if (!id) return bad("public_key: " + id.error().message);
  if (*id != s.signature.key_id)
    return bad("key_id " + s.signature.key_id + " is not the public key's id " + *id);
  if (auto v = Verify(s.public_key, s.signature.manifest, s.signature.signature); !v)
    return bad("the signature does not match the manifest under key " + *id);
  return {};
}

}  // namespace

Result<ImageRecord> ImageCatalog::Adopt(const std::string& version, const std::string& file,
                                        const std::optional<SignedBy>& signed_by, bool move) {
  auto checked = image::CheckImage(file);
  if (!checked) {
    Error e = checked.error();
    if (e.code == ErrorCode::kNotFound) return std::unexpected(e);
    // An upload is checked in a temporary file of the controller's that means nothing to the
    // person who sent it: name what they sent instead.
    if (move) {
      for (size_t at = e.message.find(file); at != std::string::npos; at = e.message.find(file, at))
        e.message.replace(at, file.size(), "the uploaded image");
    }
    return BadInput("image",
                    "image: version " + version + " is not a usable recovery image: " + e.message);
  }
  if (signed_by) {
    LIFEBOAT_TRY(CheckSignedBy(*signed_by, version, *checked));
  }
  const std::string blob = (fs::path(data_dir_) / "images" / (checked->sha256 + ".wim")).string();
  std::error_code ec;
  if (!fs::exists(blob)) {
    // Content-addressed: the same bytes published twice under two versions are stored once.
    const std::string temp = blob + ".partial";
    if (move) {
      fs::rename(file, temp, ec);
    } else {
      fs::copy_file(file, temp, fs::copy_options::overwrite_existing, ec);
    }
    if (!ec) fs::rename(temp, blob, ec);
    if (ec) {
      fs::remove(temp, ec);
      return Fail(ErrorCode::kIo, "store the image in " + blob + ": " + ec.message());
    }
  } else if (move) {
    fs::remove(file, ec);
  }
  if (!fs::exists(blob + ".prefixes")) {
    LIFEBOAT_TRY(WritePrefixHashes(blob));
  }
  ImageRecord record;
  record.version = version;
  record.sha256 = checked->sha256;
  record.size = checked->size.value;
  record.name = checked->name;
  record.description = checked->description;
  record.architecture = checked->architecture;
  record.boot_index = checked->boot_index;
  record.file_count = checked->file_count;
  record.has_winload_efi = !checked->winload_efi.empty();
  record.has_winload_exe = !checked->winload_exe.empty();
  record.has_boot_sdi = !checked->boot_sdi.empty();
  auto manifest = compose::ManifestOf(*checked, version);
  if (!manifest)
    return BadInput("image", "image: version " + version + ": " + manifest.error().message);
  record.expires = manifest->expires;
  record.contents_sha256 = manifest->contents_sha256;
  record.build_manifest = checked->build_manifest;
  record.blob_path = blob;
  if (signed_by) record.signature = signed_by->signature;
  LIFEBOAT_TRY(store_.AddImage(record));
  return Image(version);
}

Result<std::optional<ImageRecord>> ImageCatalog::Republished(
    const std::string& field, const std::string& version, const std::string& sha256, uint64_t size,
    const std::optional<SignedBy>& signed_by) {
  auto existing = store_.FindImage(version);
  LIFEBOAT_TRY(existing);
  if (!*existing) return std::optional<ImageRecord>{};
  const ImageRecord& image = **existing;
  const bool same_signature =
      !signed_by || (signed_by->signature.key_id == image.signature.key_id &&
                     signed_by->signature.signature == image.signature.signature);
  if (image.sha256 == sha256 && image.size == size && same_signature) return *existing;
  return Fail(ErrorCode::kAlreadyExists,
              field + ": " + version + " is already published with " +
                  (same_signature ? "other bytes (SHA-256 " + image.sha256 + ")"
                                  : std::string("another signature")) +
                  "; a version names one image");
}

Result<Published> ImageCatalog::PublishFromPath(const std::string& version, const std::string& path,
                                                const std::optional<SignedBy>& signed_by) {
  LIFEBOAT_TRY(Version::Parse(version, "version"));
  auto existing = store_.FindImage(version);
  LIFEBOAT_TRY(existing);
  if (*existing) {
    // The same file again is "unchanged"; hashing it is what tells.
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return Fail(ErrorCode::kNotFound, "path: " + path + ": " + ec.message());
    auto sha = Sha256File(path);
    LIFEBOAT_TRY(sha);
    auto same = Republished("version", version, *sha, size, signed_by);
    LIFEBOAT_TRY(same);
    return Published{**same, true};
  }
  auto adopted = Adopt(version, path, signed_by, false);
  LIFEBOAT_TRY(adopted);
  return Published{*adopted, false};
}

ImageCatalog::Upload::Upload(ImageCatalog& catalog, std::string version, std::string sha256,
                             uint64_t size, std::optional<SignedBy> signed_by,
                             std::string temp_path, int fd)
    : catalog_(catalog),
      signed_by_(std::move(signed_by)),
      version_(std::move(version)),
      sha256_(std::move(sha256)),
      temp_path_(std::move(temp_path)),
      size_(size),
      fd_(fd),
      hash_(std::make_unique<Hash>()) {}

ImageCatalog::Upload::~Upload() {
  if (fd_ >= 0) close(fd_);
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
}

Result<void> ImageCatalog::Upload::Append(const void* data, size_t size) {
  if (received_ + size > size_) {
    return Fail(ErrorCode::kVerification, "chunk: the upload is longer than its declared " +
                                              std::to_string(size_) + " bytes");
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  hash_->sha.Update({bytes, size});
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd_, bytes + done, size - done);
    if (n <= 0)
      return Fail(ErrorCode::kIo, "store the upload: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  received_ += size;
  return {};
}

Result<ImageRecord> ImageCatalog::Upload::Finish() {
  if (received_ != size_) {
    return Fail(ErrorCode::kVerification, "size_bytes: received " + std::to_string(received_) +
                                              " bytes of the declared " + std::to_string(size_));
  }
  std::string actual = hash_->sha.HexDigest();
  if (actual != sha256_) {
    return Fail(ErrorCode::kVerification,
                "sha256: the uploaded bytes hash to " + actual + ", not the declared " + sha256_);
  }
  if (fsync(fd_) != 0 || close(fd_) != 0) {
    fd_ = -1;
    return Fail(ErrorCode::kIo, "store the upload: " + std::string(std::strerror(errno)));
  }
  fd_ = -1;
  auto adopted = catalog_.Adopt(version_, temp_path_, signed_by_, true);
  if (adopted) temp_path_.clear();  // moved into the blob store
  return adopted;
}

Result<std::unique_ptr<ImageCatalog::Upload>> ImageCatalog::StartUpload(
    const std::string& version, const std::string& sha256, uint64_t size,
    const std::optional<SignedBy>& signed_by) {
  LIFEBOAT_TRY(Version::Parse(version, "header.version"));
  if (sha256.size() != 64 || sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return BadInput("header.sha256", "header.sha256: expected 64 lower-case hex digits");
  }
  if (size == 0) return BadInput("header.size_bytes", "header.size_bytes: must not be 0");
  auto existing = store_.FindImage(version);
  LIFEBOAT_TRY(existing);
  if (*existing)
    return Fail(ErrorCode::kAlreadyExists, "header.version: " + version + " is already published");
  std::string temp = (fs::path(data_dir_) / "uploads" / (sha256 + ".XXXXXX")).string();
  int fd = mkstemp(temp.data());
  if (fd < 0) return Fail(ErrorCode::kIo, "store the upload: " + std::string(std::strerror(errno)));
  return std::unique_ptr<Upload>(new Upload(*this, version, sha256, size, signed_by, temp, fd));
}

Result<std::vector<ImageRecord>> ImageCatalog::Images(bool include_retired) {
  return store_.ListImages(include_retired);
}

namespace {

// The image a lookup by `field` = `key` found, or kNotFound naming both.
Result<ImageRecord> Found(Result<std::optional<ImageRecord>> found, const std::string& field,
                          const std::string& key) {
  LIFEBOAT_TRY(found);
  if (!*found) return Fail(ErrorCode::kNotFound, field + ": no image " + key);
  return **found;
}

}  // namespace

Result<std::string> ImageCatalog::Newest() {
  auto images = Images(false);
  LIFEBOAT_TRY(images);
  const ImageRecord* newest = nullptr;
  for (const auto& image : *images)
    if (newest == nullptr || image.published_at > newest->published_at) newest = &image;
  if (newest == nullptr) return Fail(ErrorCode::kNotFound, "no recovery image is published");
  return newest->version;
}

Result<ImageRecord> ImageCatalog::Image(const std::string& version) {
  return Found(store_.FindImage(version), "version", version);
}

Result<ImageRecord> ImageCatalog::RetireImage(const std::string& version) {
  return store_.RetireImage(version);
}

Result<ImageRecord> ImageCatalog::ImageBySha(const std::string& sha256) {
  return Found(store_.FindImageBySha(sha256), "sha256", sha256);
}

}  // namespace lifeboat::controller
