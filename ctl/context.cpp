#include "ctl/context.h"

#include <grpcpp/create_channel.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/cli.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

// An environment variable's value; an empty one counts as unset.
std::string Env(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

void Context::AddConnectionOptions(CLI::App* command) {
  command
      ->add_option("--controller", controller,
                   "the controller's gRPC address (default: $LIFEBOAT_CONTROLLER or "
                   "127.0.0.1:7443)")
      ->type_name("ADDR");
  command
      ->add_option("--ca", ca,
                   "the controller's CA certificate, to verify it (TLS): default $LIFEBOAT_CA or "
                   "/etc/lifeboat/ca.pem; the controller writes it to its DATA_DIR/ca.pem")
      ->type_name("FILE");
  command
      ->add_option("--token-file", token_file,
                   "this operator's token (default $LIFEBOAT_TOKEN_FILE, or the token itself in "
                   "$LIFEBOAT_TOKEN); the first admin's is DATA_DIR/admin.token on the "
                   "controller")
      ->type_name("FILE");
  command->add_flag_callback(
      "--json",
      [this] {
        json = true;
        PrintErrorsAsJson(true);
      },
      "print the response as JSON on stdout (and a failure as {\"error\": ...}, docs/json.md)");
}

std::unique_ptr<grpc::ClientContext> Context::Call() {
  auto call = std::make_unique<grpc::ClientContext>();
  call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return call;
}

v1::AdminService::Stub* Context::Stub() {
  if (stub_) return stub_.get();
  const std::string address =
      controller.empty() ? Env("LIFEBOAT_CONTROLLER", "127.0.0.1:7443") : controller;
  const std::string ca_file = ca.empty() ? Env("LIFEBOAT_CA", "/etc/lifeboat/ca.pem") : ca;
  std::ifstream ca_in(ca_file);
  if (!ca_in) {
    exit_code = Usage("cannot read the controller's CA certificate " + ca_file +
                      " (give --ca FILE or $LIFEBOAT_CA; the controller writes it to its "
                      "DATA_DIR/ca.pem)");
    return nullptr;
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = std::string{std::istreambuf_iterator<char>(ca_in), {}};
  // The operator's token goes with every call as "authorization: Bearer <token>".
  std::string token = Env("LIFEBOAT_TOKEN");
  const std::string token_path = token_file.empty() ? Env("LIFEBOAT_TOKEN_FILE") : token_file;
  if (!token_path.empty()) {
    std::ifstream token_in(token_path);
    if (!token_in || !std::getline(token_in, token)) {
      exit_code = Usage("cannot read the operator token in " + token_path);
      return nullptr;
    }
  }
  auto credentials = token.empty()
                         ? grpc::SslCredentials(tls)
                         : grpc::CompositeChannelCredentials(grpc::SslCredentials(tls),
                                                             grpc::AccessTokenCredentials(token));
  stub_ = v1::AdminService::NewStub(grpc::CreateChannel(address, credentials));
  return stub_.get();
}

}  // namespace lifeboat::ctl
