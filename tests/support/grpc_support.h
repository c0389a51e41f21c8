// gRPC channels to a test's controller: TLS, verified with the CA certificate the controller
// wrote to its data folder.
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

inline std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address,
                                                const std::string& data_dir) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ControllerCa(data_dir);
  return grpc::CreateChannel(address, grpc::SslCredentials(tls));
}

}  // namespace lifeboat::test
