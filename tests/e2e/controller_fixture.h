// The fixture of the controller's gRPC tests: a real controller on loopback with its own CA and
// data folder, agents enrolled on first use, uploads streamed as lifeboatctl streams them.
#pragma once

#include <Poco/JSON/Parser.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "common/pki.h"
#include "common/sha256.h"
#include "controller/server.h"
#include "tests/support/grpc_support.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {

using test::Quote;
using test::Sh;
using test::TempDir;

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ControllerGrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    for (const char* name : {"a", "b"})
      ASSERT_NO_FATAL_FAILURE(
          test::MakeTestWim(*wims_ / (std::string(name) + ".wim"), "--size-mb 12"));
  }
  static void TearDownTestSuite() { delete wims_; }

  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_.path();
    options.max_message_bytes = 2 << 20;
    Configure(options);
    auto s = Server::Start(options);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    channel_ = test::ChannelTo("127.0.0.1:" + std::to_string(server_->port()), dir_.path());
    admin_ = v1::AdminService::NewStub(channel_);
  }

  // A suite's own settings for its controller.
  virtual void Configure(ServerOptions& /*options*/) {}

  // The AgentService as machine `id` sees it: enrolled on first use, with its own certificate.
  v1::AgentService::Stub& Agent(const std::string& id) {
    auto& stub = agents_[id];
    if (!stub) {
      const std::string address = "127.0.0.1:" + std::to_string(server_->port());
      auto identity = test::EnrollAgent(address, dir_.path(), id);
      EXPECT_FALSE(identity.certificate_pem.empty()) << "enrolling " << id;
      stub = v1::AgentService::NewStub(test::AgentChannel(address, dir_.path(), identity));
    }
    return *stub;
  }

  grpc::Status Upload(const std::string& version, const std::string& bytes, const std::string& sha,
                      v1::PublishImageResponse* response, size_t chunk = 1 << 20) {
    grpc::ClientContext context;
    auto writer = admin_->PublishImage(&context, response);
    v1::PublishImageRequest header;
    header.mutable_header()->set_version(version);
    header.mutable_header()->set_sha256(sha);
    header.mutable_header()->set_size_bytes(bytes.size());
    writer->Write(header);
    for (size_t off = 0; off < bytes.size(); off += chunk) {
      v1::PublishImageRequest part;
      part.set_chunk(bytes.substr(off, chunk));
      if (!writer->Write(part)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  // Publishes the test image `wim` as `version`, read by the controller from its own disk.
  grpc::Status PublishFromPath(const std::string& version, const std::string& wim = "a.wim",
                               v1::PublishImageFromPathResponse* response = nullptr) {
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version(version);
    request.set_path(*wims_ / wim);
    v1::PublishImageFromPathResponse unread;
    return admin_->PublishImageFromPath(&context, request, response ? response : &unread);
  }

  void RegisterMachines(int n) {
    for (int i = 0; i < n; ++i) {
      grpc::ClientContext context;
      v1::RegisterRequest request;
      request.set_machine_id("pc" + std::to_string(i));
      request.set_hostname("pc" + std::to_string(i) + ".corp");
      (*request.mutable_labels())["site"] = i % 2 ? "lyon" : "paris";
      request.mutable_inventory()->set_firmware(v1::FIRMWARE_UEFI);
      v1::RegisterResponse response;
      ASSERT_TRUE(Agent(request.machine_id()).Register(&context, request, &response).ok());
      EXPECT_EQ(response.heartbeat_interval_seconds(), 30u);
    }
  }

  inline static TempDir* wims_ = nullptr;
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::map<std::string, std::unique_ptr<v1::AgentService::Stub>> agents_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

}  // namespace lifeboat::controller
