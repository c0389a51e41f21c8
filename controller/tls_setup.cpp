#include "controller/tls_setup.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "common/files.h"

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

bool IsIpAddress(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

}  // namespace

Result<TlsMaterial> LoadOrCreateTls(const std::string& data_dir,
                                    const std::vector<std::string>& extra_names) {
  const fs::path dir = fs::path(data_dir) / "tls";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::permissions(dir, fs::perms::owner_all, ec);
  TlsMaterial tls;

  auto ca_key = ReadTextFile(dir / "ca.key"), ca_cert = ReadTextFile(dir / "ca.pem");
  if (ca_key && ca_cert) {
    tls.ca = {*ca_key, *ca_cert};
  } else {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    auto ca = NewCertificateAuthority(std::string("Lifeboat controller CA (") + host + ")", 3650);
    LIFEBOAT_TRY(ca);
    LIFEBOAT_TRY(WriteFileAtomically(dir / "ca.key", ca->key_pem, 0600));
    LIFEBOAT_TRY(WriteFileAtomically(dir / "ca.pem", ca->certificate_pem, 0644));
    tls.ca = *ca;
    tls.made_ca = true;
  }
  LIFEBOAT_TRY(WriteFileAtomically(fs::path(data_dir) / "ca.pem", tls.ca.certificate_pem, 0644));

  auto server_key = ReadTextFile(dir / "server.key"),
       server_cert = ReadTextFile(dir / "server.pem");
  // The names a certificate the controller made was issued for (server.names, one a line): a
  // name added since (to tls_names, or the host of --netboot-address) gets a new certificate from
  // the same CA, so nobody has to trust anything new. A certificate put there by hand (no
  // server.names) is never replaced while it is valid.
  const auto issued_for = ReadTextFile(dir / "server.names");
  bool covers = true;
  for (const auto& name : extra_names)
    if (issued_for && ("\n" + *issued_for).find("\n" + name + "\n") == std::string::npos)
      covers = false;
  if (server_key && server_cert && covers) {
    auto info = ReadCertificate(*server_cert);
    if (info && info->not_after > std::time(nullptr) + 30LL * 86400) {
      tls.server = {*server_key, *server_cert};
      return tls;
    }
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  CertificateSpec spec{
      "lifeboat-controller", {"localhost"}, {"127.0.0.1", "::1"}, true, false, 825};
  std::vector<std::string> names = extra_names;
  if (host[0] != '\0') names.push_back(host);
  for (const auto& name : names)
    (IsIpAddress(name) ? spec.ip_addresses : spec.dns_names).push_back(name);
  auto server = IssueWithNewKey(tls.ca, spec);
  LIFEBOAT_TRY(server);
  LIFEBOAT_TRY(WriteFileAtomically(dir / "server.key", server->key_pem, 0600));
  LIFEBOAT_TRY(WriteFileAtomically(dir / "server.pem", server->certificate_pem, 0644));
  std::string written;
  for (const auto& name : extra_names) written += name + "\n";
  LIFEBOAT_TRY(WriteFileAtomically(dir / "server.names", written, 0644));
  tls.server = *server;
  return tls;
}

std::string ServedCertificateChain(const TlsMaterial& tls) {
  const std::string& own = tls.server.certificate_pem;
  size_t certificates = 0;
  for (size_t at = own.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = own.find("-----BEGIN CERTIFICATE-----", at + 1))
    ++certificates;
  if (certificates != 1 || !VerifyIssuedBy(own, tls.ca.certificate_pem)) return own;
  return own + (own.ends_with('\n') ? "" : "\n") + tls.ca.certificate_pem;
}

}  // namespace lifeboat::controller
