// The statement an image's signer makes, and the text that is signed: "these bytes are recovery
// image `version`". The signer (lifeboatctl image publish --sign-key) builds it from the file it
// checked itself; the controller refuses one that does not describe the image it stores; agents
// check the signature with their trusted keys and that the manifest names exactly the version,
// SHA-256 and size they were assigned.
//
// The text, one "key: value" per line in this order, ending with a newline:
//   lifeboat-image-manifest: 1
//   version: 8.1
//   sha256: <64 lower-case hex digits>
//   size: <bytes>
//   name: <the boot image's name>         (newlines and backslashes escaped as \n and \\)
//   description: <its description>
//   architecture: x64
//   expires: 2027-06-30                   (only for an image built with an expiry)
//   contents-sha256: <64 hex digits>      (only for an image built by `lifeboatctl image build`:
//                                          the SHA-256 of its \Lifeboat\build.json)
// The last two lines are absent for other images, so their statements read as before.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.h"

namespace lifeboat {

struct ImageManifest {
  std::string version;
  std::string sha256;
  uint64_t size = 0;
  std::string name;
  std::string description;
  std::string architecture;
  std::string expires;          // YYYY-MM-DD, or empty
  std::string contents_sha256;  // of the image's build manifest, or empty
  bool operator==(const ImageManifest&) const = default;
};

// A signer's statement about an image as published (lifeboat.v1.ImageSignature): the manifest's
// exact text, its Ed25519 signature over that text, and the signer's key id. An empty manifest:
// unsigned.
struct ImageSignature {
  std::string manifest;
  std::string signature;
  std::string key_id;
};

[[nodiscard]] std::string ManifestText(const ImageManifest& manifest);

// An image's expiry (docs/image-build.md, "Expiry"): dates are YYYY-MM-DD, compared in UTC; an
// image may be used on its expiry date and not after it.
[[nodiscard]] bool IsDate(const std::string& text);
[[nodiscard]] std::string TodayUtc(std::chrono::system_clock::time_point now);
[[nodiscard]] bool Expired(const std::string& expires, const std::string& today);

// Exactly the form ManifestText writes, nothing else. Errors: kInvalidArgument naming the line.
[[nodiscard]] Result<ImageManifest> ParseManifestText(const std::string& text);

}  // namespace lifeboat
