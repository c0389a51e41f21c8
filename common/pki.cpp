#include "common/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>

#include "common/sha256.h"

namespace lifeboat {

namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Request = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

Bio MemoryOf(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string TextOf(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

Key ReadPrivateKey(const std::string& pem) {
  Bio bio = MemoryOf(pem);
  return Key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

Cert ReadCert(const std::string& pem) {
  Bio bio = MemoryOf(pem);
  return Cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return TextOf(bio.get());
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return TextOf(bio.get());
}

bool SetCommonName(X509_NAME* name, const std::string& cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                    0) == 1;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `subject_key` with a random 128-bit serial, valid from five minutes ago (clocks
// differ) for `seconds` from now.
Cert NewCertificate(EVP_PKEY* subject_key, const std::string& cn, long long seconds) {
  Cert cert(X509_new());
  if (!cert) return nullptr;
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  ok = ok && X509_set_version(cert.get(), 2) == 1 &&
       X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(seconds)) != nullptr &&
       X509_set_pubkey(cert.get(), subject_key) == 1 &&
       SetCommonName(X509_get_subject_name(cert.get()), cn);
  return ok ? std::move(cert) : nullptr;
}

Result<std::string> Signed(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1 ||
      X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
    return Fail(ErrorCode::kIo, "could not sign the certificate");
  std::string pem = CertPem(cert);
  if (pem.empty()) return Fail(ErrorCode::kIo, "could not write the certificate as PEM");
  return pem;
}

}  // namespace

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    std::abort();  // no randomness: nothing secure can be made
  return ToHex({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
}

Result<std::string> NewPrivateKey() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::string pem = key ? KeyPem(key.get()) : std::string();
  if (pem.empty()) return Fail(ErrorCode::kIo, "could not generate an ECDSA P-256 key");
  return pem;
}

Result<KeyAndCertificate> NewCertificateAuthority(const std::string& name, int days) {
  auto key_pem = NewPrivateKey();
  LIFEBOAT_TRY(key_pem);
  Key key = ReadPrivateKey(*key_pem);
  Cert cert = key ? NewCertificate(key.get(), name, 86400LL * days) : nullptr;
  // Self-signed: the subject is its own issuer, so the extensions can name both.
  if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
      !AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"))
    return Fail(ErrorCode::kIo, "could not make the CA certificate");
  auto pem = Signed(cert.get(), cert.get(), key.get());
  LIFEBOAT_TRY(pem);
  return KeyAndCertificate{*key_pem, *pem};
}

Result<std::string> NewCertificateRequest(const std::string& key_pem,
                                          const std::string& common_name) {
  Key key = ReadPrivateKey(key_pem);
  if (!key) return Fail(ErrorCode::kInvalidArgument, "not a private key in PEM form");
  Request request(X509_REQ_new());
  if (!request || X509_REQ_set_version(request.get(), 0) != 1 ||
      !SetCommonName(X509_REQ_get_subject_name(request.get()), common_name) ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1 ||
      X509_REQ_sign(request.get(), key.get(), EVP_sha256()) <= 0)
    return Fail(ErrorCode::kIo, "could not make a certificate request");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1)
    return Fail(ErrorCode::kIo, "could not write the certificate request");
  return TextOf(bio.get());
}

Result<std::string> IssueCertificate(const KeyAndCertificate& ca, const std::string& request_pem,
                                     const CertificateSpec& spec) {
  Bio bio = MemoryOf(request_pem);
  Request request(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!request) return Fail(ErrorCode::kInvalidArgument, "not a PEM certificate request");
  Key subject_key(X509_REQ_get_pubkey(request.get()));
  if (!subject_key || X509_REQ_verify(request.get(), subject_key.get()) != 1)
    return Fail(ErrorCode::kInvalidArgument,
                "the certificate request's signature does not match its key");
  Key ca_key = ReadPrivateKey(ca.key_pem);
  Cert ca_cert = ReadCert(ca.certificate_pem);
  if (!ca_key || !ca_cert) return Fail(ErrorCode::kIo, "the CA's key or certificate is unreadable");
  Cert cert = NewCertificate(subject_key.get(), spec.common_name,
                             spec.lifetime_seconds ? spec.lifetime_seconds : 86400LL * spec.days);
  if (!cert) return Fail(ErrorCode::kIo, "could not make the certificate");
  std::string usage = spec.server && spec.client ? "serverAuth,clientAuth"
                      : spec.server              ? "serverAuth"
                                                 : "clientAuth";
  std::string names;
  for (const auto& d : spec.dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : spec.ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  if (!AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_key_usage,
                    "critical,digitalSignature,keyAgreement") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, usage) ||
      !AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid") ||
      (!names.empty() && !AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, names)))
    return Fail(ErrorCode::kIo, "could not add the certificate's extensions");
  return Signed(cert.get(), ca_cert.get(), ca_key.get());
}

Result<KeyAndCertificate> IssueWithNewKey(const KeyAndCertificate& ca,
                                          const CertificateSpec& spec) {
  auto key = NewPrivateKey();
  LIFEBOAT_TRY(key);
  auto request = NewCertificateRequest(*key, spec.common_name);
  LIFEBOAT_TRY(request);
  auto cert = IssueCertificate(ca, *request, spec);
  LIFEBOAT_TRY(cert);
  return KeyAndCertificate{*key, *cert};
}

Result<CertificateInfo> ReadCertificate(const std::string& certificate_pem) {
  Cert cert = ReadCert(certificate_pem);
  if (!cert) return Fail(ErrorCode::kInvalidArgument, "not a PEM certificate");
  CertificateInfo info;
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  info.common_name = cn;
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  if (char* hex = serial ? BN_bn2hex(serial) : nullptr) {
    info.serial = hex;
    OPENSSL_free(hex);
  }
  BN_free(serial);
  struct tm before {
  }, after{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &before) == 1)
    info.not_before = static_cast<long long>(timegm(&before));
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &after) == 1)
    info.not_after = static_cast<long long>(timegm(&after));
  return info;
}

Result<void> VerifyIssuedBy(const std::string& certificate_pem,
                            const std::string& ca_certificate_pem) {
  Cert cert = ReadCert(certificate_pem);
  Cert ca = ReadCert(ca_certificate_pem);
  if (!cert || !ca) return Fail(ErrorCode::kVerification, "not a PEM certificate");
  Store store(X509_STORE_new());
  StoreCtx ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
    return Fail(ErrorCode::kIo, "could not set up the certificate check");
  if (X509_verify_cert(ctx.get()) != 1)
    return Fail(ErrorCode::kVerification,
                std::string("certificate: ") +
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  return {};
}

namespace {

// The site's own settings for every TLS context ("system_default" under ssl_conf in
// openssl.cnf), as key = value lines; empty when it has none.
std::string SiteTlsDefaults() {
  std::string lines;
  char* file = CONF_get1_default_config_file();
  CONF* site = NCONF_new(nullptr);
  long error_line = 0;
  if (file && site && NCONF_load(site, file, &error_line) > 0) {
    const char* init = NCONF_get_string(site, nullptr, "openssl_conf");
    const char* ssl = init ? NCONF_get_string(site, init, "ssl_conf") : nullptr;
    const char* tls = ssl ? NCONF_get_string(site, ssl, "system_default") : nullptr;
    STACK_OF(CONF_VALUE)* values = tls ? NCONF_get_section(site, tls) : nullptr;
    for (int i = 0; values && i < sk_CONF_VALUE_num(values); ++i) {
      const CONF_VALUE* v = sk_CONF_VALUE_value(values, i);
      if (std::string(v->name) != "NumTickets")
        lines += std::string(v->name) + " = " + v->value + "\n";
    }
  }
  NCONF_free(site);
  OPENSSL_free(file);
  ERR_clear_error();  // a missing file or section is not an error here
  return lines;
}

}  // namespace

Result<void> TurnOffTlsSessionTickets() {
  // The site's config is loaded first (once per process), so that it cannot replace ours later.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  const std::string text =
      "lifeboat = lifeboat_init\n[lifeboat_init]\nssl_conf = lifeboat_ssl\n"
      "[lifeboat_ssl]\nsystem_default = lifeboat_tls\n[lifeboat_tls]\n" +
      SiteTlsDefaults() + "NumTickets = 0\n";
  std::unique_ptr<CONF, decltype(&NCONF_free)> conf(NCONF_new(nullptr), NCONF_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  long error_line = 0;
  if (!conf || !bio || NCONF_load_bio(conf.get(), bio.get(), &error_line) <= 0 ||
      CONF_modules_load(conf.get(), "lifeboat", 0) <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "OpenSSL refused the TLS settings (line " +
                                                 std::to_string(error_line) + " of:\n" + text +
                                                 ")");
  }
  return {};
}

}  // namespace lifeboat
