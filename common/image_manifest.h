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
#pragma once

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

// Exactly the form ManifestText writes, nothing else. Errors: kInvalidArgument naming the line.
[[nodiscard]] Result<ImageManifest> ParseManifestText(const std::string& text);

}  // namespace lifeboat
