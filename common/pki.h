// X.509 for Lifeboat's transport security, through OpenSSL's libcrypto (used only here, in
// sha256.cpp and in ed25519.cpp): the controller's own small certificate authority, the server
// certificate it issues itself, and the client certificates agents receive at enrollment for a
// request they made with a key that never leaves the machine. Keys are ECDSA P-256 (what every
// TLS stack accepts); everything is PEM, so `openssl x509 -text` shows it.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat {

struct KeyAndCertificate {
  std::string key_pem;
  std::string certificate_pem;
};

struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries (server certificates)
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries
  bool server = false;                    // extendedKeyUsage serverAuth
  bool client = false;                    // extendedKeyUsage clientAuth
  int days = 365;
  long long lifetime_seconds = 0;  // when not 0, the lifetime instead of `days`
};

// `bytes` random bytes from OpenSSL's generator, as hex: tokens and secrets.
[[nodiscard]] std::string RandomHex(size_t bytes);

// A new ECDSA P-256 private key, PEM (PKCS#8).
[[nodiscard]] Result<std::string> NewPrivateKey();

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) and its key.
[[nodiscard]] Result<KeyAndCertificate> NewCertificateAuthority(const std::string& name, int days);

// A PKCS#10 request for `key_pem`'s public key with CN = common_name, signed with that key.
[[nodiscard]] Result<std::string> NewCertificateRequest(const std::string& key_pem,
                                                        const std::string& common_name);

// A certificate for the request's public key, signed by `ca`, after checking the request's own
// signature (its maker holds the key). The subject and extensions come from `spec`, never from the
// request. Errors: kInvalidArgument (not a request, or its signature does not match).
[[nodiscard]] Result<std::string> IssueCertificate(const KeyAndCertificate& ca,
                                                   const std::string& request_pem,
                                                   const CertificateSpec& spec);

// A new key and a certificate for it, issued by `ca` (the controller's own server certificate).
[[nodiscard]] Result<KeyAndCertificate> IssueWithNewKey(const KeyAndCertificate& ca,
                                                        const CertificateSpec& spec);

struct CertificateInfo {
  std::string common_name;
  std::string serial;        // hex
  long long not_before = 0;  // seconds since the epoch
  long long not_after = 0;
};

// Errors: kInvalidArgument (not a PEM certificate).
[[nodiscard]] Result<CertificateInfo> ReadCertificate(const std::string& certificate_pem);

// Makes every TLS server context this process creates from now on (gRPC's, Poco's) send no session
// tickets. Lifeboat's clients never resume a session (an agent's contact is a new process each
// time), and OpenSSL 3 encodes and decodes the session, client certificate included, for each
// ticket: a fifth of a handshake's cost. Done through OpenSSL's ssl_conf "system_default"
// section, the only setting that reaches contexts other libraries make; the site's own
// system_default settings in openssl.cnf, if any, are kept. Errors: kInvalidArgument (OpenSSL
// refused the settings).
[[nodiscard]] Result<void> TurnOffTlsSessionTickets();

// Whether `certificate_pem` was issued by `ca_certificate_pem` and is valid now.
// Errors: kVerification with OpenSSL's reason.
[[nodiscard]] Result<void> VerifyIssuedBy(const std::string& certificate_pem,
                                          const std::string& ca_certificate_pem);

}  // namespace lifeboat
