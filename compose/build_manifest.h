// The build manifest (docs/image-build.md, "The manifest"): every input with its SHA-256, what
// each put where, the drivers with their architectures, start-up, expiry. Its text goes into the
// image as \Lifeboat\build.json, so it travels with the image and the image's signature covers
// it; a copy beside the output adds the image's own SHA-256, size and GUID. JSON through
// Poco::JSON with keys in a fixed order, so the same build gives the same text. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "compose/build_plan.h"
#include "compose/input_scan.h"
#include "compose/recipe.h"
#include "image/wim_compose.h"

namespace lifeboat::compose {

inline constexpr int kBuildManifestFormat = 1;

struct BaseRecord {
  std::string kind;    // "wim" or "iso"
  std::string sha256;  // of the file the recipe named (the ISO for an ISO base)
  uint64_t size = 0;
  image::BaseImage image;
};

struct PlacedHash {
  std::string sha256;
  uint64_t size = 0;
};

// `hashes[i]` belongs to plan.placements[i]; `input_hashes[i]` is the SHA-256 of inputs[i] when
// it is one file (an archive or a single file), else "".
struct ManifestParts {
  const Recipe& recipe;
  const BaseRecord& base;
  const std::vector<Input>& inputs;
  const std::vector<std::string>& input_hashes;
  const BuildPlan& plan;
  const std::vector<PlacedHash>& hashes;
  int64_t timestamp = 0;
};

// The manifest as it goes into the image (no image hash: the image holds it).
[[nodiscard]] std::string BuildManifestText(const ManifestParts& parts);

// The same with "image": { sha256, size, guid, path } added, for beside the output.
[[nodiscard]] std::string ManifestWithImage(const std::string& manifest_text,
                                            const std::string& image_sha256, uint64_t image_size,
                                            const std::string& guid);

// The WIM GUID derived from the manifest text: the same inputs give the same GUID.
[[nodiscard]] std::array<uint8_t, 16> GuidFor(const std::string& manifest_text);
[[nodiscard]] std::string GuidText(const std::array<uint8_t, 16>& guid);

// RFC 3339 UTC.
[[nodiscard]] std::string Rfc3339(int64_t unix_seconds);

}  // namespace lifeboat::compose
