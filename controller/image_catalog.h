// The image catalog: the published recovery images, their bytes kept content-addressed under
// DATA_DIR/images (<sha256>.wim, with <sha256>.wim.prefixes for downloads) and their records in
// the fleet store. Thread-safe (the store serializes); blocks on the store and on image files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/fleet_store.h"
#include "controller/model.h"

namespace lifeboat::controller {

// A publish's outcome: the image, and whether it was published already with these same bytes
// (publishing again is then "unchanged", so that configuration management can repeat it).
struct Published : ImageRecord {
  bool unchanged = false;
};

class ImageCatalog {
 public:
  ImageCatalog(FleetStore& store, std::string data_dir);

  // Publishing checks the file with wimlib and stores it content-addressed; a
  // failed publish leaves nothing behind. Errors: kInvalidArgument (bad version, not a usable
  // WIM, or a signature that does not describe or match the image), kAlreadyExists, kNotFound
  // (no such file), kVerification (bytes do not match the declared SHA-256 or size). A signature
  // is optional here: agents decide which keys they trust, and refuse unsigned images.
  [[nodiscard]] Result<Published> PublishFromPath(const std::string& version,
                                                  const std::string& path,
                                                  const std::optional<SignedBy>& signed_by = {});
  // When `version` is published already: with the same bytes (size and SHA-256) and no other
  // signature, that image; with others, kAlreadyExists naming `field`. Nothing for a new version.
  [[nodiscard]] Result<std::optional<ImageRecord>> Republished(
      const std::string& field, const std::string& version, const std::string& sha256,
      uint64_t size, const std::optional<SignedBy>& signed_by);
  // A partly received upload: Append the bytes in order, then Finish. Abandoned uploads are removed
  // when the object goes.
  class Upload {
   public:
    ~Upload();
    [[nodiscard]] Result<void> Append(const void* data, size_t size);
    [[nodiscard]] Result<ImageRecord> Finish();

   private:
    friend class ImageCatalog;
    Upload(ImageCatalog& catalog, std::string version, std::string sha256, uint64_t size,
           std::optional<SignedBy> signed_by, std::string temp_path, int fd);
    ImageCatalog& catalog_;
    std::optional<SignedBy> signed_by_;
    std::string version_, sha256_, temp_path_;
    uint64_t size_ = 0, received_ = 0;
    int fd_ = -1;
    struct Hash;
    std::unique_ptr<Hash> hash_;
  };
  [[nodiscard]] Result<std::unique_ptr<Upload>> StartUpload(
      const std::string& version, const std::string& sha256, uint64_t size,
      const std::optional<SignedBy>& signed_by = {});
  [[nodiscard]] Result<std::vector<ImageRecord>> Images(bool include_retired);
  [[nodiscard]] Result<ImageRecord> Image(const std::string& version);
  // The version of the image published last that is not retired. kNotFound: none.
  [[nodiscard]] Result<std::string> Newest();
  [[nodiscard]] Result<ImageRecord> RetireImage(const std::string& version);
  // The blob of an image, for downloads. kNotFound.
  [[nodiscard]] Result<ImageRecord> ImageBySha(const std::string& sha256);
  // Downloads are served in chunks that end at multiples of kChunkBytes (or at the image's end),
  // each with the SHA-256 of the image up to its end. Those prefix hashes are computed once, in
  // one pass, when the image is published, and kept beside the blob (<blob>.prefixes). The hash
  // of the bytes [0, end), if `end` is such a chunk end.
  static constexpr uint32_t kChunkBytes = 1 << 20;
  [[nodiscard]] std::optional<std::string> PrefixHash(const ImageRecord& image, uint64_t end) const;

 private:
  [[nodiscard]] Result<ImageRecord> Adopt(const std::string& version, const std::string& file,
                                          const std::optional<SignedBy>& signed_by, bool move);

  FleetStore& store_;
  std::string data_dir_;
};

}  // namespace lifeboat::controller
