#include "controller/tls_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

namespace lifeboat::controller {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string{std::istreambuf_iterator<char>(in), {}};
}

// Written beside and renamed into place; keys are created 0600.
Result<void> WriteText(const fs::path& path, const std::string& text, mode_t mode) {
  const std::string temp = path.string() + ".partial";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  if (fd >= 0) close(fd);
  std::error_code ec;
  if (ok) fs::rename(temp, path, ec);
  if (!ok || ec)
    return Fail(ErrorCode::kIo, "write " + path.string() + ": " + std::strerror(errno));
  return {};
}

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

  auto ca_key = ReadText(dir / "ca.key"), ca_cert = ReadText(dir / "ca.pem");
  if (ca_key && ca_cert) {
    tls.ca = {*ca_key, *ca_cert};
  } else {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    auto ca = NewCertificateAuthority(std::string("Lifeboat controller CA (") + host + ")", 3650);
    if (!ca) return std::unexpected(ca.error());
    if (auto r = WriteText(dir / "ca.key", ca->key_pem, 0600); !r)
      return std::unexpected(r.error());
    if (auto r = WriteText(dir / "ca.pem", ca->certificate_pem, 0644); !r)
      return std::unexpected(r.error());
    tls.ca = *ca;
  }
  if (auto r = WriteText(fs::path(data_dir) / "ca.pem", tls.ca.certificate_pem, 0644); !r)
    return std::unexpected(r.error());

  auto server_key = ReadText(dir / "server.key"), server_cert = ReadText(dir / "server.pem");
  if (server_key && server_cert) {
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
  if (!server) return std::unexpected(server.error());
  if (auto r = WriteText(dir / "server.key", server->key_pem, 0600); !r)
    return std::unexpected(r.error());
  if (auto r = WriteText(dir / "server.pem", server->certificate_pem, 0644); !r)
    return std::unexpected(r.error());
  tls.server = *server;
  return tls;
}

}  // namespace lifeboat::controller
