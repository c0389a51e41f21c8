#include "common/image_trust.h"

#include <fstream>

#include "common/ed25519.h"
#include "common/image_manifest.h"

namespace lifeboat {

Result<TrustedKeys> TrustedKeys::Load(const std::vector<std::string>& files, TrustWording wording) {
  TrustedKeys trusted;
  trusted.wording_ = std::move(wording);
  const std::string& setting = trusted.wording_.setting;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) return Fail(ErrorCode::kNotFound, setting + ": cannot read " + file);
    std::string pem{std::istreambuf_iterator<char>(in), {}};
    auto id = KeyId(pem);
    if (!id) return BadInput(setting, setting + ": " + file + ": " + id.error().message);
    trusted.keys_[*id] = std::move(pem);
  }
  return trusted;
}

Result<std::string> TrustedKeys::Check(const ImageManifest& published,
                                       const ImageSignature& signature,
                                       const std::string& today) const {
  const std::string image = "image " + published.version + " (" + published.sha256 + ")";
  auto refuse = [&](const std::string& why) {
    return Refuse("untrusted-image", image + " " + wording_.outcome + ": " + why);
  };
  if (keys_.empty())
    return refuse(wording_.setting == "trusted_keys"
                      ? "this agent trusts no signing key (set trusted_keys in its config)"
                      : "no signing key is trusted (give one with " + wording_.setting + ")");
  const ImageSignature& sig = signature;
  if (sig.manifest.empty())
    return refuse("it is unsigned (publish it with lifeboatctl image publish --sign-key)");
  auto key = keys_.find(sig.key_id);
  if (key == keys_.end())
    return refuse("it is signed by key " + sig.key_id + ", which is not among " + wording_.holder);
  if (!Verify(key->second, sig.manifest, sig.signature))
    return refuse("the signature does not match its manifest under key " + sig.key_id +
                  " (the manifest or the signature was altered)");
  auto manifest = ParseManifestText(sig.manifest);
  if (!manifest) return refuse(manifest.error().message);
  if (manifest->version != published.version || manifest->sha256 != published.sha256 ||
      manifest->size != published.size)
    return refuse("the signed manifest is for version " + manifest->version + " (" +
                  manifest->sha256 + ", " + std::to_string(manifest->size) +
                  " bytes), not for what the controller published (" +
                  std::to_string(published.size) + " bytes)");
  if (Expired(manifest->expires, today))
    return Refuse("image-expired", image + " " + wording_.outcome + ": it expired on " +
                                       manifest->expires + " (signed by key " + sig.key_id + ")");
  return sig.key_id;
}

}  // namespace lifeboat
