// Which images this agent may install: only those whose manifest is signed by one of the public
// keys in its config (trusted_keys; several, so keys can be rotated), and whose signed manifest
// names exactly the version, SHA-256 and size the controller assigned. The download then checks
// the bytes against that SHA-256, so an image's bytes, manifest and signature are all covered.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/contact/controller_client.h"
#include "common/error.h"

namespace lifeboat::agent {

class TrustedKeys {
 public:
  // Reads each PEM public key file. Errors: kNotFound or kInvalidArgument naming the file.
  [[nodiscard]] static Result<TrustedKeys> Load(const std::vector<std::string>& files);

  // The id of the key that signed the assignment's image. Errors: kRefused with the reason
  // "untrusted-image" (unsigned, an unknown key, a signature that does not match, a manifest for
  // other bytes), or "image-expired" when the signed statement's expiry is before `today`
  // (YYYY-MM-DD, UTC).
  [[nodiscard]] Result<std::string> Check(const Assignment& assignment,
                                          const std::string& today) const;

  [[nodiscard]] bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, std::string> keys_;  // key id -> PEM
};

}  // namespace lifeboat::agent
