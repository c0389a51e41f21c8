#include "bench/h2_contact.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace lifeboat::bench {

AgentIdentity ParseIdentity(const std::string& key_pem, const std::string& certificate_pem) {
  AgentIdentity identity;
  if (key_pem.empty()) return identity;
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  BIO* cert_bio = BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size()));
  identity.key.reset(PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr), EVP_PKEY_free);
  identity.certificate.reset(PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr), X509_free);
  BIO_free(key_bio);
  BIO_free(cert_bio);
  return identity;
}

std::shared_ptr<SSL_CTX> NewClientContext(const std::string& ca_pem) {
  std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(context.get()), ca);
  X509_free(ca);
  BIO_free(bio);
  static const unsigned char kH2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(context.get(), kH2, sizeof kH2);
  return context;
}

// One call's state while nghttp2 runs it.
struct Exchange {
  std::string request;  // the gRPC message frame: flag, length, bytes
  size_t sent = 0;
  std::string body;  // response frames
  int grpc_status = -1;
  bool closed = false;
};

struct H2Contact::Session {
  nghttp2_session* h2 = nullptr;
  SSL* ssl = nullptr;
  Exchange* exchange = nullptr;
  ~Session() {
    if (h2) nghttp2_session_del(h2);
  }
};

namespace {

ssize_t Send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
  auto* session = static_cast<H2Contact::Session*>(user);
  const int n = SSL_write(session->ssl, data, static_cast<int>(length));
  return n > 0 ? n : NGHTTP2_ERR_CALLBACK_FAILURE;
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

H2Contact::H2Contact(SSL_CTX* context, const AgentIdentity& identity, int port)
    : session_(std::make_unique<Session>()), authority_("127.0.0.1:" + std::to_string(port)) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
  SSL* ssl = SSL_new(context);
  // The controller's certificate must name the address, as gRPC checks.
  SSL_set1_host(ssl, "127.0.0.1");
  if (identity.certificate) {
    SSL_use_certificate(ssl, identity.certificate.get());
    SSL_use_PrivateKey(ssl, identity.key.get());
  }
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    return;
  }
  ssl_ = ssl;
  session_->ssl = ssl_;
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
  if (ssl_) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (fd_ >= 0) close(fd_);
}

int H2Contact::Call(const std::string& path, const std::string& request, std::string& response) {
  if (!ssl_) return -1;
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
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n <= 0) break;
    if (nghttp2_session_mem_recv(session_->h2, buffer, static_cast<size_t>(n)) < 0) break;
  }
  session_->exchange = nullptr;
  if (!exchange.closed) return -1;
  if (exchange.body.size() >= 5) response = exchange.body.substr(5);
  return exchange.grpc_status;
}

}  // namespace lifeboat::bench
