// The controller's small CA, checked with the openssl tool.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>

#include "common/pki.h"
#include "tests/support/test_support.h"

namespace lifeboat {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

TEST(Pki, ServerAndClientCertificatesVerifyUnderTheirCaOnly) {
  TempDir dir;
  auto ca = NewCertificateAuthority("Lifeboat test CA", 3650);
  ASSERT_TRUE(ca) << ca.error().message;
  auto server = IssueWithNewKey(*ca, {"lifeboat-controller", {"localhost"}, {"127.0.0.1"}, true,
                                      false, 365});
  ASSERT_TRUE(server) << server.error().message;
  auto agent_key = NewPrivateKey();
  ASSERT_TRUE(agent_key);
  auto request = NewCertificateRequest(*agent_key, "whatever-the-agent-asks");
  ASSERT_TRUE(request);
  // The subject comes from the controller, not from the request.
  auto client = IssueCertificate(*ca, *request, {"pc-0042", {}, {}, false, true, 90});
  ASSERT_TRUE(client) << client.error().message;
  std::ofstream(dir / "ca.pem") << ca->certificate_pem;
  std::ofstream(dir / "server.pem") << server->certificate_pem;
  std::ofstream(dir / "client.pem") << *client;

  auto verified = Sh("openssl verify -CAfile " + Quote(dir / "ca.pem") + " " +
                     Quote(dir / "server.pem") + " " + Quote(dir / "client.pem"));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto text = Sh("openssl x509 -noout -text -in " + Quote(dir / "server.pem"));
  EXPECT_NE(text.out.find("IP Address:127.0.0.1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("TLS Web Server Authentication"), std::string::npos);
  auto client_text = Sh("openssl x509 -noout -subject -ext extendedKeyUsage -in " +
                        Quote(dir / "client.pem"));
  EXPECT_NE(client_text.out.find("CN = pc-0042"), std::string::npos) << client_text.out;
  EXPECT_NE(client_text.out.find("TLS Web Client Authentication"), std::string::npos);
  // The certificate holds the agent's own public key.
  auto ours = Sh("openssl pkey -pubout <<< " + Quote(*agent_key) + " && openssl x509 -noout "
                 "-pubkey -in " + Quote(dir / "client.pem"));
  auto half = ours.out.size() / 2;
  EXPECT_EQ(ours.out.substr(0, half), ours.out.substr(half));

  auto info = ReadCertificate(*client);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "pc-0042");
  EXPECT_FALSE(info->serial.empty());
  EXPECT_GT(info->not_after, std::time(nullptr) + 89LL * 86400);
  EXPECT_TRUE(VerifyIssuedBy(*client, ca->certificate_pem));

  // Another CA's certificate is not accepted under this one.
  auto other = NewCertificateAuthority("Someone else", 3650);
  ASSERT_TRUE(other);
  auto foreign = IssueWithNewKey(*other, {"pc-0042", {}, {}, false, true, 90});
  ASSERT_TRUE(foreign);
  auto refused = VerifyIssuedBy(foreign->certificate_pem, ca->certificate_pem);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
  std::ofstream(dir / "foreign.pem") << foreign->certificate_pem;
  EXPECT_NE(Sh("openssl verify -CAfile " + Quote(dir / "ca.pem") + " " + Quote(dir / "foreign.pem"))
                .exit_code,
            0);
}

TEST(Pki, ARequestWhoseSignatureDoesNotMatchIsRefused) {
  auto ca = NewCertificateAuthority("Lifeboat test CA", 3650);
  ASSERT_TRUE(ca);
  auto key = NewPrivateKey();
  auto request = NewCertificateRequest(*key, "pc-1");
  ASSERT_TRUE(request);
  // Flip a character inside the base64 body: the request no longer matches its signature (or no
  // longer parses); either way it is refused.
  std::string bad = *request;
  size_t at = bad.find('\n') + 40;
  bad[at] = bad[at] == 'A' ? 'B' : 'A';
  auto issued = IssueCertificate(*ca, bad, {"pc-1", {}, {}, false, true, 90});
  ASSERT_FALSE(issued);
  EXPECT_EQ(issued.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(IssueCertificate(*ca, "not a request", {"pc-1", {}, {}, false, true, 90}));
}

}  // namespace
}  // namespace lifeboat
