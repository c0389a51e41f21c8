// gRPC channels to a test's controller: TLS, verified with the CA certificate the controller
// wrote to its data folder, and the first admin's token (DATA_DIR/admin.token) with every call.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

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

}  // namespace lifeboat::test
