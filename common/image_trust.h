// Which images may be used: only those whose manifest is signed by one of a set of trusted public
// keys (several, so keys can be rotated), and whose signed manifest names exactly the version,
// SHA-256 and size the controller published. A download then checks the bytes against that
// SHA-256, so an image's bytes, manifest and signature are all covered. Agents check before they
// install (their config's trusted_keys); lifeboatctl before it writes a medium (--trusted-key).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/image_manifest.h"

namespace lifeboat {

// How refusals name the keys and the outcome, for the program that checks.
struct TrustWording {
  std::string setting = "trusted_keys";              // where the keys are given
  std::string holder = "this agent's trusted_keys";  // "not among <holder>"
  std::string outcome = "is not installed";          // "image 8.1 (…) <outcome>: why"
};

class TrustedKeys {
 public:
  // Reads each PEM public key file. Errors: kNotFound or kInvalidArgument naming the file.
  [[nodiscard]] static Result<TrustedKeys> Load(const std::vector<std::string>& files,
                                                TrustWording wording = {});

  // The id of the key that signed the image. Errors: kRefused with the reason "untrusted-image"
  // (unsigned, an unknown key, a signature that does not match, a manifest for other bytes), or
  // "image-expired" when the signed statement's expiry is before `today` (YYYY-MM-DD, UTC).
  [[nodiscard]] Result<std::string> Check(const ImageManifest& image,
                                          const ImageSignature& signature,
                                          const std::string& today) const;

  [[nodiscard]] bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, std::string> keys_;  // key id -> PEM
  TrustWording wording_;
};

}  // namespace lifeboat
