// gRPC channels to a test's controller: TLS, verified with the CA certificate the controller
// wrote to its data folder, and the first admin's token (DATA_DIR/admin.token) with every call;
// and agents enrolled the way lifeboat-agent enrolls (a token, then a certificate request).
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "common/pki.h"
#include "lifeboat/v1/admin_service.grpc.pb.h"
#include "lifeboat/v1/agent_service.grpc.pb.h"

namespace lifeboat::test {

inline std::string ControllerCa(const std::string& data_dir) {
  std::ifstream in(data_dir + "/ca.pem");
  return {std::istreambuf_iterator<char>(in), {}};
}

inline std::string AdminToken(const std::string& data_dir) {
  std::ifstream in(data_dir + "/admin.token");
  std::string token;
  std::getline(in, token);
  return token;
}

inline std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address,
                                                const std::string& data_dir,
                                                const std::string& token = "") {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ControllerCa(data_dir);
  const std::string bearer = token.empty() ? AdminToken(data_dir) : token;
  return grpc::CreateChannel(
      address, grpc::CompositeChannelCredentials(grpc::SslCredentials(tls),
                                                 grpc::AccessTokenCredentials(bearer)));
}

// Enrolls machine `id` with a fresh token: its key and client certificate (empty on failure).
inline KeyAndCertificate EnrollAgent(const std::string& address, const std::string& data_dir,
                                     const std::string& id) {
  auto admin = v1::AdminService::NewStub(ChannelTo(address, data_dir));
  grpc::ClientContext token_context;
  v1::CreateEnrollmentTokenResponse token;
  if (!admin->CreateEnrollmentToken(&token_context, v1::CreateEnrollmentTokenRequest(), &token)
           .ok())
    return {};
  auto key = NewPrivateKey();
  auto request = NewCertificateRequest(*key, id);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ControllerCa(data_dir);
  auto agent = v1::AgentService::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(tls)));
  grpc::ClientContext context;
  v1::EnrollRequest enroll;
  enroll.set_token(token.token());
  enroll.set_machine_id(id);
  enroll.set_certificate_request(*request);
  v1::EnrollResponse response;
  if (!agent->Enroll(&context, enroll, &response).ok()) return {};
  return {*key, response.certificate()};
}

// A channel that shows the agent's client certificate (mutual TLS).
inline std::shared_ptr<grpc::Channel> AgentChannel(const std::string& address,
                                                   const std::string& data_dir,
                                                   const KeyAndCertificate& identity) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ControllerCa(data_dir);
  tls.pem_private_key = identity.key_pem;
  tls.pem_cert_chain = identity.certificate_pem;
  grpc::ChannelArguments args;
  args.SetString("lifeboat.test.identity", identity.certificate_pem);  // one connection each
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
}

}  // namespace lifeboat::test
