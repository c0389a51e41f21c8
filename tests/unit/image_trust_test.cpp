// Which images an agent accepts: the manifest's exact form, and every way a signature can be
// wrong, with real Ed25519 keys.
#include "common/image_trust.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agent/contact/controller_client.h"
#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

using test::TempDir;

// What the contact checks of an assignment.
Result<std::string> CheckOf(const TrustedKeys& keys, const Assignment& a,
                            const std::string& today) {
  return keys.Check(a.image, a.signature, today);
}

constexpr const char* kToday = "2026-12-02";

TEST(ImageManifest, RoundTripsAndEscapesLineBreaks) {
  ImageManifest m{"8.1", std::string(64, 'a'), 524288000, "DaRT\nx64", "back\\slash", "x64", "",
                  ""};
  const std::string text = ManifestText(m);
  EXPECT_NE(text.find("name: DaRT\\nx64\n"), std::string::npos) << text;
  auto back = ParseManifestText(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(ImageManifest, ABuiltImageAddsItsExpiryAndContentsHashAndNothingElseChanges) {
  ImageManifest plain{"8.1", std::string(64, 'a'), 10, "n", "d", "x64", "", ""};
  ImageManifest built = plain;
  built.expires = "2027-06-30";
  built.contents_sha256 = std::string(64, 'b');
  const std::string text = ManifestText(built);
  EXPECT_EQ(text, ManifestText(plain) +
                      "expires: 2027-06-30\ncontents-sha256: " + std::string(64, 'b') + "\n");
  auto back = ParseManifestText(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, built);
  for (const std::string& bad :
       {ManifestText(plain) + "expires: 2027-02-30\n", ManifestText(plain) + "expires: soon\n",
        ManifestText(plain) + "contents-sha256: " + std::string(64, 'B') + "\n",
        // Out of order.
        ManifestText(plain) + "contents-sha256: " + std::string(64, 'b') +
            "\nexpires: 2027-06-30\n"})
    EXPECT_FALSE(ParseManifestText(bad)) << bad;
}

TEST(ImageManifest, AnImageMayBeUsedOnItsExpiryDateAndNotAfter) {
  EXPECT_FALSE(Expired("", "2030-01-01"));
  EXPECT_FALSE(Expired("2027-06-30", "2027-06-29"));
  EXPECT_FALSE(Expired("2027-06-30", "2027-06-30"));
  EXPECT_TRUE(Expired("2027-06-30", "2027-07-01"));
  EXPECT_EQ(TodayUtc(std::chrono::system_clock::time_point(std::chrono::seconds(1782863999))),
            "2026-06-30");  // 23:59:59 UTC
}

TEST(ImageManifest, AnythingButTheCanonicalFormIsRefused) {
  ImageManifest m{"8.1", std::string(64, 'a'), 10, "n", "d", "x64", "", ""};
  const std::string text = ManifestText(m);
  for (const std::string& bad :
       {text.substr(0, text.size() - 1), "x" + text, text + "extra: 1\n",
        std::string(text).replace(text.find("size: 10"), 8, "size: 010"),
        std::string(text).replace(text.find("sha256: a"), 9, "sha256: A"),
        // 20 digits past 2^64: refused, not thrown (std::stoull did).
        std::string(text).replace(text.find("size: 10"), 8, "size: 99999999999999999999"),
        // A signed version is still a folder's name: "../x" is refused like on a command line.
        std::string(text).replace(text.find("version: 8.1"), 12, "version: ../x"), std::string()}) {
    auto parsed = ParseManifestText(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* key : {&trusted_a_, &trusted_b_, &stranger_}) {
      auto pair = GenerateSigningKey();
      ASSERT_TRUE(pair);
      *key = *pair;
    }
    std::ofstream(dir_ / "a.pub") << trusted_a_.public_pem;
    std::ofstream(dir_ / "b.pub") << trusted_b_.public_pem;
  }
  // An assignment for `m`, signed with `key`.
  static Assignment Signed(const ImageManifest& m, const SigningKeyPair& key) {
    Assignment a{7, 1, m, {ManifestText(m), "", ""}};
    a.signature.signature = Sign(key.private_pem, a.signature.manifest).value();
    a.signature.key_id = KeyId(key.public_pem).value();
    return a;
  }
  TrustedKeys Load() {
    auto keys = TrustedKeys::Load({dir_ / "a.pub", dir_ / "b.pub"});
    EXPECT_TRUE(keys) << keys.error().message;
    return *keys;
  }
  static std::string Why(const Result<std::string>& r) { return r ? "" : r.error().message; }

  TempDir dir_;
  SigningKeyPair trusted_a_, trusted_b_, stranger_;
  const ImageManifest image_{"8.1", std::string(64, 'c'), 4096, "DaRT", "tools", "x64", "", ""};
};

TEST_F(TrustTest, AnImageSignedWithAnExpiryIsRefusedAfterIt) {
  TrustedKeys keys = Load();
  ImageManifest expiring = image_;
  expiring.expires = "2026-12-01";
  auto refused = CheckOf(keys, Signed(expiring, trusted_a_), kToday);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, "image-expired");
  EXPECT_NE(refused.error().message.find("expired on 2026-12-01"), std::string::npos);
  EXPECT_TRUE(CheckOf(keys, Signed(expiring, trusted_a_), "2026-12-01"));
}

TEST_F(TrustTest, EitherTrustedKeyIsAccepted) {
  TrustedKeys keys = Load();
  auto a = CheckOf(keys, Signed(image_, trusted_a_), kToday);
  ASSERT_TRUE(a) << Why(a);
  EXPECT_EQ(*a, KeyId(trusted_a_.public_pem).value());
  EXPECT_TRUE(CheckOf(keys, Signed(image_, trusted_b_), kToday));  // a rotated-in key
}

TEST_F(TrustTest, EveryWrongSignatureIsRefusedWithItsReason) {
  TrustedKeys keys = Load();
  Assignment unsigned_image = Signed(image_, trusted_a_);
  unsigned_image.signature.manifest.clear();
  EXPECT_NE(Why(CheckOf(keys, unsigned_image, kToday)).find("unsigned"), std::string::npos);

  EXPECT_NE(Why(CheckOf(keys, Signed(image_, stranger_), kToday))
                .find("not among this agent's trusted_keys"),
            std::string::npos);

  // A stranger's signature presented under a trusted key's id.
  Assignment forged = Signed(image_, stranger_);
  forged.signature.key_id = KeyId(trusted_a_.public_pem).value();
  EXPECT_NE(Why(CheckOf(keys, forged, kToday)).find("does not match"), std::string::npos);

  Assignment tampered = Signed(image_, trusted_a_);
  tampered.signature.manifest.replace(tampered.signature.manifest.find("DaRT"), 4, "EVIL");
  EXPECT_NE(Why(CheckOf(keys, tampered, kToday)).find("does not match"), std::string::npos);

  // A genuine signature of another image's manifest, assigned with this image's bytes.
  ImageManifest other = image_;
  other.sha256 = std::string(64, 'd');
  Assignment swapped = Signed(other, trusted_a_);
  swapped.image.sha256 = image_.sha256;
  EXPECT_NE(Why(CheckOf(keys, swapped, kToday)).find("signed manifest is for"), std::string::npos);
  Assignment resized = Signed(image_, trusted_a_);
  resized.image.size = 4097;
  EXPECT_FALSE(CheckOf(keys, resized, kToday));
  Assignment renamed = Signed(image_, trusted_a_);
  renamed.image.version = "8.2";
  EXPECT_FALSE(CheckOf(keys, renamed, kToday));

  for (const auto& r : {CheckOf(keys, unsigned_image, kToday), CheckOf(keys, forged, kToday),
                        CheckOf(keys, swapped, kToday)}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  }
}

TEST_F(TrustTest, NoTrustedKeysRefusesEverythingAndBadKeyFilesAreClearErrors) {
  auto none = TrustedKeys::Load({});
  ASSERT_TRUE(none);
  EXPECT_NE(Why(CheckOf(*none, Signed(image_, trusted_a_), kToday)).find("trusts no signing key"),
            std::string::npos);
  auto missing = TrustedKeys::Load({dir_ / "nope.pub"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.pub"), std::string::npos);
  std::ofstream(dir_ / "private.pem") << trusted_a_.private_pem;
  auto private_key = TrustedKeys::Load({dir_ / "private.pem"});
  ASSERT_FALSE(private_key);  // a private key is not a public key file
  EXPECT_NE(private_key.error().message.find("private.pem"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::agent
