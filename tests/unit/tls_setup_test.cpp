// The chain the controller's TLS shows, read back with the openssl tool.
#include "controller/tls_setup.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

// The subjects of the certificates in a PEM file, in order, as openssl prints them.
std::string Subjects(const std::string& pem_file) {
  return Sh("openssl crl2pkcs7 -nocrl -certfile " + Quote(pem_file) +
            " | openssl pkcs7 -print_certs -noout | grep '^subject='")
      .out;
}

TEST(TlsSetup, TheServedChainIsTheServerCertificateThenItsCa) {
  TempDir dir;
  auto tls = LoadOrCreateTls(dir / "data", {});
  ASSERT_TRUE(tls) << tls.error().message;
  std::ofstream(dir / "chain.pem") << ServedCertificateChain(*tls);
  std::ofstream(dir / "ca.pem") << tls->ca.certificate_pem;
  auto ca_subject = Sh("openssl x509 -noout -subject -in " + Quote(dir / "ca.pem")).out;
  EXPECT_EQ(Subjects(dir / "chain.pem"), "subject=CN = lifeboat-controller\n" + ca_subject);
  // The first certificate is the server's own, and the chain verifies under the CA.
  auto verified = Sh("openssl verify -CAfile " + Quote(dir / "ca.pem") + " " +
                     Quote(dir / "data/tls/server.pem"));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(ServedCertificateChain(*tls).find(tls->server.certificate_pem), 0u);
}

TEST(TlsSetup, AServerCertificateFromElsewhereIsServedAsGiven) {
  TempDir dir;
  auto tls = LoadOrCreateTls(dir / "data", {});
  ASSERT_TRUE(tls) << tls.error().message;
  // Issued by another CA: the controller's CA is not its issuer, so it is not appended.
  auto other = NewCertificateAuthority("Someone else", 3650);
  ASSERT_TRUE(other);
  auto foreign = IssueWithNewKey(*other, {"controller", {}, {"127.0.0.1"}, true, false, 90});
  ASSERT_TRUE(foreign);
  TlsMaterial given = *tls;
  given.server = *foreign;
  EXPECT_EQ(ServedCertificateChain(given), foreign->certificate_pem);
  // A server.pem that holds its own chain is not added to either.
  given.server.certificate_pem = tls->server.certificate_pem + other->certificate_pem;
  EXPECT_EQ(ServedCertificateChain(given), given.server.certificate_pem);
}

}  // namespace
}  // namespace lifeboat::controller
