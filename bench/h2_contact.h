// One simulated agent contact for the load benchmark: a new TCP connection, a full mutual-TLS
// handshake with the agent's own certificate, gRPC unary calls over HTTP/2, then close. This is
// what the controller sees from a real agent's lifeboat-agent-contact.
//
// Why not gRPC's C++ client, as the rest of the benchmark uses: it builds a new TLS context for
// every channel, parsing the agent's key and certificates again (OpenSSL 3's decoders), and that
// alone took more than a core of this 2-core machine for 10,000 agents, starving the controller
// under test. Real agents pay that on their own machines. Here each agent's key and certificate
// are parsed once, one TLS context per thread is shared, and nghttp2 does the HTTP/2.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace lifeboat::bench {

// An agent's identity, parsed once.
struct AgentIdentity {
  std::shared_ptr<X509> certificate;
  std::shared_ptr<EVP_PKEY> key;
};
// From PEM; an empty identity (no client certificate) when both are empty.
AgentIdentity ParseIdentity(const std::string& key_pem, const std::string& certificate_pem);

// A TLS client context that trusts `ca_pem` and speaks h2; one per thread.
std::shared_ptr<SSL_CTX> NewClientContext(const std::string& ca_pem);

class H2Contact {
 public:
  // Connects to 127.0.0.1:port and completes the TLS handshake; ok() says whether it worked.
  H2Contact(SSL_CTX* context, const AgentIdentity& identity, int port);
  ~H2Contact();
  H2Contact(const H2Contact&) = delete;
  H2Contact& operator=(const H2Contact&) = delete;
  [[nodiscard]] bool ok() const { return ssl_ != nullptr; }

  // A unary call: `path` like "/lifeboat.v1.AgentService/Heartbeat", the serialized request.
  // Returns the grpc-status (-1 for a transport failure) and fills `response`.
  int Call(const std::string& path, const std::string& request, std::string& response);

  struct Session;  // the HTTP/2 session, for nghttp2's callbacks

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::unique_ptr<Session> session_;
  std::string authority_;
};

}  // namespace lifeboat::bench
