// One simulated agent contact for the load benchmark: a new TCP connection, a full mutual-TLS
// handshake with the agent's own certificate, gRPC unary calls over HTTP/2, then close. This is
// what the controller sees from a real agent's lifeboat-agent-contact.
//
// Why not gRPC's C++ client, as the rest of the benchmark uses: it builds a new TLS context for
// every channel, parsing the agent's key and certificates again (OpenSSL 3's decoders), and that
// alone took more than a core of this 2-core machine for 10,000 agents, starving the controller
// under test. Real agents pay that on their own machines. Here each agent's key and certificate
// are parsed once, nghttp2 does the HTTP/2, and GnuTLS the TLS: on the client's side of each
// handshake OpenSSL 3.0 spent most of its time finding and running its decoders for the server's
// certificates, and at 333 contacts a second the load generator took almost as much of the two
// cores as the controller under test (docs/benchmarks.md). The controller still meets what a
// real agent's handshake asks of it: TLS 1.3, a P-256 key share (all gRPC's TLS offers), the
// agent's certificate and its signature.
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace lifeboat::bench {

// An agent's identity, parsed once.
struct AgentIdentity {
  std::shared_ptr<gnutls_pcert_st> certificate;
  std::shared_ptr<gnutls_privkey_st> key;
};
// From PEM; an empty identity (no client certificate) when both are empty or either is not valid.
AgentIdentity ParseIdentity(const std::string& key_pem, const std::string& certificate_pem);

// What every contact shares: the CA that the controller's certificate must chain to, and the
// TLS settings. Safe to use from many threads at once.
class ClientContext {
 public:
  explicit ClientContext(const std::string& ca_pem);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;
  gnutls_certificate_credentials_t credentials() const { return credentials_; }
  gnutls_priority_t priorities() const { return priorities_; }

  // Controller certificate chains (their DER, concatenated) already checked in full.
  bool CheckedBefore(const std::string& chain) const;
  void RememberChecked(std::string chain) const;

 private:
  gnutls_certificate_credentials_t credentials_ = nullptr;
  gnutls_priority_t priorities_ = nullptr;
  mutable std::mutex checked_mutex_;
  mutable std::set<std::string> checked_chains_;
};

class H2Contact {
 public:
  // Connects to 127.0.0.1:port and completes the TLS handshake; ok() says whether it worked.
  H2Contact(const ClientContext& context, const AgentIdentity& identity, int port);
  ~H2Contact();
  H2Contact(const H2Contact&) = delete;
  H2Contact& operator=(const H2Contact&) = delete;
  [[nodiscard]] bool ok() const { return tls_ != nullptr; }

  // A unary call: `path` like "/lifeboat.v1.AgentService/Heartbeat", the serialized request.
  // Returns the grpc-status (-1 for a transport failure) and fills `response`.
  int Call(const std::string& path, const std::string& request, std::string& response);

  struct Session;  // the HTTP/2 session, for nghttp2's callbacks

 private:
  int fd_ = -1;
  AgentIdentity identity_;          // what the certificate callback hands GnuTLS
  gnutls_session_t tls_ = nullptr;  // once the handshake is done
  std::unique_ptr<Session> session_;
  std::string authority_;
};

}  // namespace lifeboat::bench
