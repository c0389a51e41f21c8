#include "agent/contact/image_trust.h"

#include <fstream>

#include "common/ed25519.h"
#include "common/image_manifest.h"

namespace lifeboat::agent {

Result<TrustedKeys> TrustedKeys::Load(const std::vector<std::string>& files) {
  TrustedKeys trusted;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) return Fail(ErrorCode::kNotFound, "trusted_keys: cannot read " + file);
    std::string pem{std::istreambuf_iterator<char>(in), {}};
    auto id = KeyId(pem);
    if (!id) return BadInput("trusted_keys", "trusted_keys: " + file + ": " + id.error().message);
    trusted.keys_[*id] = std::move(pem);
  }
  return trusted;
}

Result<std::string> TrustedKeys::Check(const Assignment& a, const std::string& today) const {
  const std::string image = "image " + a.image.version + " (" + a.image.sha256 + ")";
  auto refuse = [&](const std::string& why) {
    return Refuse("untrusted-image", image + " is not installed: " + why);
  };
  if (keys_.empty())
    return refuse("this agent trusts no signing key (set trusted_keys in its config)");
  if (a.signature.manifest.empty())
    return refuse("it is unsigned (publish it with lifeboatctl image publish --sign-key)");
  auto key = keys_.find(a.signature.key_id);
  if (key == keys_.end())
    return refuse("it is signed by key " + a.signature.key_id +
                  ", which is not among this agent's " + "trusted_keys");
  if (!Verify(key->second, a.signature.manifest, a.signature.signature))
    return refuse("the signature does not match its manifest under key " + a.signature.key_id +
                  " (the manifest or the signature was altered)");
  auto manifest = ParseManifestText(a.signature.manifest);
  if (!manifest) return refuse(manifest.error().message);
  if (manifest->version != a.image.version || manifest->sha256 != a.image.sha256 ||
      manifest->size != a.image.size)
    return refuse("the signed manifest is for version " + manifest->version + " (" +
                  manifest->sha256 + ", " + std::to_string(manifest->size) +
                  " bytes), not for what the controller assigned (" + std::to_string(a.image.size) +
                  " bytes)");
  if (Expired(manifest->expires, today))
    return Refuse("image-expired", image + " is not installed: it expired on " + manifest->expires +
                                       " (signed by key " + a.signature.key_id + ")");
  return a.signature.key_id;
}

}  // namespace lifeboat::agent
