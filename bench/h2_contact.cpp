#include "bench/h2_contact.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace lifeboat::bench {

namespace {

gnutls_datum_t Datum(const std::string& text) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned>(text.size())};
}

}  // namespace

// One call's state while nghttp2 runs it.
struct Exchange {
  std::string request;  // the gRPC message frame: flag, length, bytes
  size_t sent = 0;
  std::string body;  // response frames
  int grpc_status = -1;
  bool closed = false;
};

// What a TLS session's callbacks need: set on each as GnuTLS's session pointer.
struct H2Contact::Session {
  const ClientContext* context = nullptr;
  const AgentIdentity* identity = nullptr;
  nghttp2_session* h2 = nullptr;
  gnutls_session_t tls = nullptr;
  Exchange* exchange = nullptr;
  ~Session() {
    if (h2) nghttp2_session_del(h2);
  }
};

namespace {

// GnuTLS asks for the client's certificate when the controller requests one: the identity of the
// contact whose session this is (none for an agent not yet enrolled).
int ShowIdentity(gnutls_session_t tls, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*,
                 int, gnutls_pcert_st** certificate, unsigned int* count, gnutls_privkey_t* key) {
  const auto* session = static_cast<const H2Contact::Session*>(gnutls_session_get_ptr(tls));
  *count = 0;
  if (session->identity && session->identity->certificate) {
    *certificate = session->identity->certificate.get();
    *count = 1;
    *key = session->identity->key.get();
  }
  return 0;
}

// The controller's certificate must chain to the CA and name the address, as gRPC checks. The
// chain is checked in full the first time it is seen; after that, the same bytes are known good
// (an agent machine would check it each time, on its own CPU, not the controller's under test).
// GnuTLS still checks, in every handshake, the controller's signature with that certificate's key.
int CheckController(gnutls_session_t tls) {
  const auto* session = static_cast<const H2Contact::Session*>(gnutls_session_get_ptr(tls));
  unsigned count = 0;
  const gnutls_datum_t* certificates = gnutls_certificate_get_peers(tls, &count);
  std::string chain;
  for (unsigned i = 0; i < count; ++i)
    chain.append(reinterpret_cast<const char*>(certificates[i].data), certificates[i].size);
  if (count > 0 && session->context->CheckedBefore(chain)) return 0;
  unsigned status = 0;
  if (gnutls_certificate_verify_peers3(tls, "127.0.0.1", &status) < 0 || status != 0)
    return GNUTLS_E_CERTIFICATE_ERROR;
  session->context->RememberChecked(std::move(chain));
  return 0;
}

}  // namespace

AgentIdentity ParseIdentity(const std::string& key_pem, const std::string& certificate_pem) {
  AgentIdentity identity;
  if (key_pem.empty()) return identity;
  gnutls_privkey_t key = nullptr;
  gnutls_privkey_init(&key);
  std::shared_ptr<gnutls_privkey_st> owned_key(key, gnutls_privkey_deinit);
  const gnutls_datum_t key_text = Datum(key_pem), certificate_text = Datum(certificate_pem);
  if (gnutls_privkey_import_x509_raw(key, &key_text, GNUTLS_X509_FMT_PEM, nullptr, 0) < 0)
    return identity;
  auto* certificate = new gnutls_pcert_st{};
  if (gnutls_pcert_import_x509_raw(certificate, &certificate_text, GNUTLS_X509_FMT_PEM, 0) < 0) {
    delete certificate;
    return identity;
  }
  identity.certificate.reset(certificate, [](gnutls_pcert_st* c) {
    gnutls_pcert_deinit(c);
    delete c;
  });
  identity.key = std::move(owned_key);
  return identity;
}

ClientContext::ClientContext(const std::string& ca_pem) {
  gnutls_certificate_allocate_credentials(&credentials_);
  const gnutls_datum_t ca = Datum(ca_pem);
  gnutls_certificate_set_x509_trust_mem(credentials_, &ca, GNUTLS_X509_FMT_PEM);
  gnutls_certificate_set_retrieve_function2(credentials_, ShowIdentity);
  gnutls_certificate_set_verify_function(credentials_, CheckController);
  // P-256 only, as gRPC's TLS offers: with X25519 first the controller would answer with a
  // HelloRetryRequest, a round trip and a second key share no real agent costs it.
  gnutls_priority_init(&priorities_, "NORMAL:-GROUP-ALL:+GROUP-SECP256R1", nullptr);
}

ClientContext::~ClientContext() {
  gnutls_priority_deinit(priorities_);
  gnutls_certificate_free_credentials(credentials_);
}

bool ClientContext::CheckedBefore(const std::string& chain) const {
  std::lock_guard lock(checked_mutex_);
  return checked_chains_.contains(chain);
}

void ClientContext::RememberChecked(std::string chain) const {
  std::lock_guard lock(checked_mutex_);
  checked_chains_.insert(std::move(chain));
}

namespace {

ssize_t Send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
  auto* session = static_cast<H2Contact::Session*>(user);
  const ssize_t n = gnutls_record_send(session->tls, data, length);
  return n > 0 ? n : ssize_t{NGHTTP2_ERR_CALLBACK_FAILURE};
}

int OnData(nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t length, void* user) {
  auto* session = static_cast<H2Contact::Session*>(user);
  if (session->exchange)
    session->exchange->body.append(reinterpret_cast<const char*>(data), length);
  return 0;
}

int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t name_length,
             const uint8_t* value, size_t value_length, uint8_t, void* user) {
  auto* session = static_cast<H2Contact::Session*>(user);
  if (session->exchange &&
      std::string_view(reinterpret_cast<const char*>(name), name_length) == "grpc-status")
    session->exchange->grpc_status =
        std::stoi(std::string(reinterpret_cast<const char*>(value), value_length));
  return 0;
}

int OnClose(nghttp2_session*, int32_t, uint32_t, void* user) {
  auto* session = static_cast<H2Contact::Session*>(user);
  if (session->exchange) session->exchange->closed = true;
  return 0;
}

ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buffer, size_t length, uint32_t* flags,
                    nghttp2_data_source* source, void*) {
  auto* exchange = static_cast<Exchange*>(source->ptr);
  const size_t n = std::min(length, exchange->request.size() - exchange->sent);
  std::memcpy(buffer, exchange->request.data() + exchange->sent, n);
  exchange->sent += n;
  if (exchange->sent == exchange->request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

nghttp2_nv Header(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

H2Contact::H2Contact(const ClientContext& context, const AgentIdentity& identity, int port)
    : identity_(identity),
      session_(std::make_unique<Session>()),
      authority_("127.0.0.1:" + std::to_string(port)) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
  gnutls_session_t tls = nullptr;
  gnutls_init(&tls, GNUTLS_CLIENT);
  gnutls_priority_set(tls, context.priorities());
  gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, context.credentials());
  session_->context = &context;
  session_->identity = &identity_;
  gnutls_session_set_ptr(tls, session_.get());  // CheckController checks the controller
  static const gnutls_datum_t kH2 = {
      const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>("h2")), 2};
  gnutls_alpn_set_protocols(tls, &kH2, 1, 0);
  gnutls_transport_set_int(tls, fd_);
  int handshake;
  do {
    handshake = gnutls_handshake(tls);
  } while (handshake < 0 && gnutls_error_is_fatal(handshake) == 0);
  if (handshake < 0) {
    gnutls_deinit(tls);
    return;
  }
  tls_ = tls;
  session_->tls = tls_;
  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, Send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, OnData);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, OnHeader);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, OnClose);
  nghttp2_session_client_new(&session_->h2, callbacks, session_.get());
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(session_->h2, NGHTTP2_FLAG_NONE, nullptr, 0);
}

H2Contact::~H2Contact() {
  if (tls_) {
    gnutls_bye(tls_, GNUTLS_SHUT_WR);
    gnutls_deinit(tls_);
  }
  if (fd_ >= 0) close(fd_);
}

int H2Contact::Call(const std::string& path, const std::string& request, std::string& response) {
  if (!tls_) return -1;
  Exchange exchange;
  const uint32_t length = htonl(static_cast<uint32_t>(request.size()));
  exchange.request.push_back('\0');  // not compressed
  exchange.request.append(reinterpret_cast<const char*>(&length), 4);
  exchange.request += request;
  session_->exchange = &exchange;
  const std::vector<nghttp2_nv> headers = {Header(":method", "POST"),
                                           Header(":scheme", "https"),
                                           Header(":authority", authority_),
                                           Header(":path", path),
                                           Header("content-type", "application/grpc"),
                                           Header("te", "trailers")};
  nghttp2_data_provider body{};
  body.source.ptr = &exchange;
  body.read_callback = ReadRequest;
  if (nghttp2_submit_request(session_->h2, nullptr, headers.data(), headers.size(), &body,
                             nullptr) < 0)
    return -1;
  uint8_t buffer[16384];
  while (!exchange.closed) {
    if (nghttp2_session_send(session_->h2) != 0) break;
    const ssize_t n = gnutls_record_recv(tls_, buffer, sizeof buffer);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) continue;
    if (n <= 0) break;
    if (nghttp2_session_mem_recv(session_->h2, buffer, static_cast<size_t>(n)) < 0) break;
  }
  session_->exchange = nullptr;
  if (!exchange.closed) return -1;
  if (exchange.body.size() >= 5) response = exchange.body.substr(5);
  return exchange.grpc_status;
}

}  // namespace lifeboat::bench
