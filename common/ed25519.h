// Ed25519 signatures through OpenSSL's libcrypto (used only here and in sha256.cpp): the keys that
// sign recovery images and the checks agents make before they install one. Keys are PEM text
// (PKCS#8 "PRIVATE KEY", SubjectPublicKeyInfo "PUBLIC KEY"), as `openssl genpkey -algorithm
// ed25519` writes them, so operators can make and inspect them with the openssl tool too.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace lifeboat {

struct SigningKeyPair {
  std::string private_pem;
  std::string public_pem;
};

[[nodiscard]] Result<SigningKeyPair> GenerateSigningKey();

// The public half of a private key. Errors: kInvalidArgument (not an Ed25519 private key).
[[nodiscard]] Result<std::string> PublicKeyOf(const std::string& private_pem);

// A short name for a public key: the first 16 hex digits of the SHA-256 of its 32 raw bytes.
// Errors: kInvalidArgument (not an Ed25519 public key).
[[nodiscard]] Result<std::string> KeyId(const std::string& public_pem);

// The 64-byte signature of `message`. Errors: kInvalidArgument (not an Ed25519 private key).
[[nodiscard]] Result<std::string> Sign(const std::string& private_pem, std::string_view message);

// Errors: kVerification (the signature does not match the message and key), kInvalidArgument
// (not an Ed25519 public key).
[[nodiscard]] Result<void> Verify(const std::string& public_pem, std::string_view message,
                                  std::string_view signature);

}  // namespace lifeboat
