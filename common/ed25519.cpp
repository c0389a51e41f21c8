#include "common/ed25519.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <memory>

#include "common/sha256.h"

namespace lifeboat {

namespace {

struct FreeKey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FreeBio {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct FreeMdCtx {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, FreeKey>;
using Bio = std::unique_ptr<BIO, FreeBio>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, FreeMdCtx>;

Key ReadKey(const std::string& pem, bool is_private) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  Key key(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                     : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key && EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) return nullptr;
  return key;
}

std::string WriteKey(EVP_PKEY* key, bool is_private) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  int ok = is_private
               ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Error NotAKey(bool is_private) {
  return {ErrorCode::kInvalidArgument, std::string("not an Ed25519 ") +
                                           (is_private ? "private" : "public") +
                                           " key in PEM form (make one with lifeboatctl key "
                                           "generate, or openssl genpkey -algorithm ed25519)"};
}

}  // namespace

Result<SigningKeyPair> GenerateSigningKey() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Fail(ErrorCode::kIo, "could not generate an Ed25519 key");
  SigningKeyPair pair{WriteKey(key.get(), true), WriteKey(key.get(), false)};
  if (pair.private_pem.empty() || pair.public_pem.empty())
    return Fail(ErrorCode::kIo, "could not write the Ed25519 key as PEM");
  return pair;
}

Result<std::string> PublicKeyOf(const std::string& private_pem) {
  Key key = ReadKey(private_pem, true);
  if (!key) return std::unexpected(NotAKey(true));
  std::string pem = WriteKey(key.get(), false);
  if (pem.empty()) return Fail(ErrorCode::kIo, "could not write the public key as PEM");
  return pem;
}

Result<std::string> KeyId(const std::string& public_pem) {
  Key key = ReadKey(public_pem, false);
  if (!key) return std::unexpected(NotAKey(false));
  std::array<uint8_t, 32> raw{};
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &size) != 1 || size != raw.size())
    return std::unexpected(NotAKey(false));
  return Sha256Hex(raw).substr(0, 16);
}

Result<std::string> Sign(const std::string& private_pem, std::string_view message) {
  Key key = ReadKey(private_pem, true);
  if (!key) return std::unexpected(NotAKey(true));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  size_t size = signature.size();
  // Ed25519 hashes the message itself: no digest is named, and signing is one shot.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return Fail(ErrorCode::kIo, "could not sign with the Ed25519 key");
  signature.resize(size);
  return signature;
}

Result<void> Verify(const std::string& public_pem, std::string_view message,
                    std::string_view signature) {
  Key key = ReadKey(public_pem, false);
  if (!key) return std::unexpected(NotAKey(false));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
    return Fail(ErrorCode::kIo, "could not check with the Ed25519 key");
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1)
    return Fail(ErrorCode::kVerification, "the signature does not match");
  return {};
}

}  // namespace lifeboat
