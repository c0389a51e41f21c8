// SHA-256 of bytes and files, through OpenSSL's libcrypto (here and in ed25519.cpp): its assembly
// implementations keep hashing faster than the disk, which matters when every image is hashed
// while it is written and again when it is read back.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace lifeboat {

// An incremental hash. Not thread-safe; cheap to create.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  // The digest as 64 lower-case hex digits. The object cannot be updated afterwards.
  [[nodiscard]] std::string HexDigest();
  // The raw 32-byte digest, for callers that derive identifiers from it.
  [[nodiscard]] std::array<uint8_t, 32> Digest();
  // The digest of the bytes so far, as hex; the hash goes on (a copy of its state is finished).
  [[nodiscard]] std::string HexDigestSoFar() const;
  [[nodiscard]] std::array<uint8_t, 32> DigestSoFar() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

[[nodiscard]] std::string Sha256Hex(std::span<const uint8_t> bytes);
// Lower-case hex digits of bytes (two per byte), the form digests are shown and stored in.
[[nodiscard]] std::string ToHex(std::span<const uint8_t> bytes);
// The bytes of hex digits (either case); nullopt for an odd length or another character.
[[nodiscard]] std::optional<std::string> FromHex(const std::string& hex);
// HMAC-SHA256 of `message` under `key`, as lower-case hex (webhook signatures).
[[nodiscard]] std::string HmacSha256Hex(std::string_view key, std::string_view message);
// Reads the whole file. Errors: kNotFound, kIo.
[[nodiscard]] Result<std::string> Sha256File(const std::string& path);

}  // namespace lifeboat
