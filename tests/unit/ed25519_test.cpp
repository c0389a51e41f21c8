// Ed25519 signing, checked against the openssl tool in both directions.
#include "common/ed25519.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/test_support.h"

namespace lifeboat {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Ed25519, SignsAndVerifiesAndOpensslAgrees) {
  auto pair = GenerateSigningKey();
  ASSERT_TRUE(pair) << pair.error().message;
  EXPECT_NE(pair->private_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  const std::string message = "lifeboat image manifest\nversion=1.0\n";
  auto signature = Sign(pair->private_pem, message);
  ASSERT_TRUE(signature) << signature.error().message;
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(Verify(pair->public_pem, message, *signature));
  auto derived = PublicKeyOf(pair->private_pem);
  ASSERT_TRUE(derived);
  EXPECT_EQ(*derived, pair->public_pem);

  TempDir dir;
  WriteFile(dir / "pub.pem", pair->public_pem);
  WriteFile(dir / "msg", message);
  WriteFile(dir / "sig", *signature);
  auto checked = Sh("openssl pkeyutl -verify -pubin -inkey " + Quote(dir / "pub.pem") +
                    " -rawin -in " + Quote(dir / "msg") + " -sigfile " + Quote(dir / "sig"));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

TEST(Ed25519, AKeyAndSignatureMadeByOpensslAreAccepted) {
  TempDir dir;
  ASSERT_EQ(Sh("openssl genpkey -algorithm ed25519 -out " + Quote(dir / "key.pem") +
               " && openssl pkey -in " + Quote(dir / "key.pem") + " -pubout -out " +
               Quote(dir / "pub.pem") + " && printf 'hello' > " + Quote(dir / "msg") +
               " && openssl pkeyutl -sign -inkey " + Quote(dir / "key.pem") + " -rawin -in " +
               Quote(dir / "msg") + " -out " + Quote(dir / "sig"))
                .exit_code,
            0);
  EXPECT_TRUE(Verify(ReadFile(dir / "pub.pem"), "hello", ReadFile(dir / "sig")));
  auto ours = Sign(ReadFile(dir / "key.pem"), "hello");
  ASSERT_TRUE(ours);
  EXPECT_EQ(*ours, ReadFile(dir / "sig"));  // Ed25519 is deterministic
  auto id = KeyId(ReadFile(dir / "pub.pem"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), 16u);
}

TEST(Ed25519, TamperingAnotherKeyOrNotAKeyIsRefused) {
  auto pair = GenerateSigningKey();
  auto other = GenerateSigningKey();
  ASSERT_TRUE(pair && other);
  auto signature = Sign(pair->private_pem, "version=1.0");
  ASSERT_TRUE(signature);
  auto tampered = Verify(pair->public_pem, "version=1.1", *signature);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::kVerification);
  auto wrong_key = Verify(other->public_pem, "version=1.0", *signature);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kVerification);
  std::string flipped = *signature;
  flipped[10] ^= 1;
  EXPECT_FALSE(Verify(pair->public_pem, "version=1.0", flipped));
  EXPECT_FALSE(Verify(pair->public_pem, "version=1.0", ""));
  auto garbage = Verify("-----BEGIN PUBLIC KEY-----\nnope\n", "x", *signature);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Sign(pair->public_pem, "x"));  // a public key cannot sign
  EXPECT_NE(KeyId(pair->public_pem).value(), KeyId(other->public_pem).value());
}

TEST(Ed25519, AnotherAlgorithmsKeyIsRefused) {
  TempDir dir;
  ASSERT_EQ(Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
               Quote(dir / "ec.pem"))
                .exit_code,
            0);
  auto signed_with_ec = Sign(ReadFile(dir / "ec.pem"), "x");
  ASSERT_FALSE(signed_with_ec);
  EXPECT_EQ(signed_with_ec.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(signed_with_ec.error().message.find("Ed25519"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat
