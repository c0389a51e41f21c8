// The controller's services over a real gRPC server on loopback: health and reflection, uploads
// (good, wrong hash, not a WIM, duplicate, oversized), agents registering, heartbeating,
// downloading with resume and reporting, rollouts and queries, and the status codes of bad input.
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
namespace {

using test::Quote;
using test::Sh;
using test::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ControllerGrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    for (const char* name : {"a", "b"}) {
      auto r = Sh(Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-test-wim") + " " +
                  Quote(*wims_ / (std::string(name) + ".wim")) + " --size-mb 12");
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() { delete wims_; }

  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_.path();
    options.max_message_bytes = 2 << 20;
    auto s = Server::Start(options);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    channel_ = test::ChannelTo("127.0.0.1:" + std::to_string(server_->port()), dir_.path());
    admin_ = v1::AdminService::NewStub(channel_);
  }

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

  static TempDir* wims_;
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::map<std::string, std::unique_ptr<v1::AgentService::Stub>> agents_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};
TempDir* ControllerGrpcTest::wims_ = nullptr;

// The standard services are called by name with hand-encoded protobuf bytes, as a generic gRPC
// tool would: nothing of ours is involved on the client side.
std::string Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

TEST_F(ControllerGrpcTest, HealthCheckingAndReflectionAnswer) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  {
    // grpc.health.v1.HealthCheckRequest{service: ""} is empty; SERVING is field 1 = 1.
    grpc::ClientContext context;
    grpc::ByteBuffer request(nullptr, 0), response;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &cq);
    call->StartCall();
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Bytes(response), std::string("\x08\x01", 2));
  }
  {
    // grpc.reflection.v1alpha.ServerReflectionRequest{list_services: ""}: field 7, empty string.
    grpc::ClientContext context;
    auto call = stub.PrepareCall(
        &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    grpc::Slice slice(std::string("\x3a\x00", 2));
    grpc::ByteBuffer request(&slice, 1), response;
    call->Write(request, reinterpret_cast<void*>(2));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    call->Read(&response, reinterpret_cast<void*>(3));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    const std::string listed = Bytes(response);
    EXPECT_NE(listed.find("lifeboat.v1.AdminService"), std::string::npos);
    EXPECT_NE(listed.find("lifeboat.v1.AgentService"), std::string::npos);
    call->WritesDone(reinterpret_cast<void*>(4));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    ASSERT_TRUE(cq.Next(&tag, &ok));
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(ControllerGrpcTest, UploadsAreVerifiedAndBadOnesRejectedWithTheRightCode) {
  const std::string bytes = ReadAll(*wims_ / "a.wim");
  const std::string sha = Sha256Hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  v1::PublishImageResponse response;
  auto wrong = Upload("1.0", bytes, std::string(64, '0'), &response);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::DATA_LOSS) << wrong.error_message();
  EXPECT_NE(wrong.error_message().find("sha256"), std::string::npos);
  auto ok = Upload("1.0", bytes, sha, &response);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(response.image().sha256(), sha);
  EXPECT_TRUE(response.image().has_boot_sdi());
  // The same bytes again are "unchanged"; other bytes under the same version are refused.
  v1::PublishImageResponse again;
  auto same = Upload("1.0", bytes, sha, &again);
  ASSERT_TRUE(same.ok()) << same.error_message();
  EXPECT_TRUE(again.unchanged());
  EXPECT_EQ(again.image().sha256(), sha);
  const std::string other = bytes.substr(0, bytes.size() - 1);
  auto dup =
      Upload("1.0", other,
             Sha256Hex({reinterpret_cast<const uint8_t*>(other.data()), other.size()}), &response);
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(dup.error_message().find("other bytes"), std::string::npos) << dup.error_message();
  const std::string junk(300000, 'x');
  const std::string junk_sha =
      Sha256Hex({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()});
  auto not_wim = Upload("2.0", junk, junk_sha, &response);
  EXPECT_EQ(not_wim.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << not_wim.error_message();
  auto oversized =
      Upload("3.0", bytes, sha, &response, 3 << 20);  // one message above the 2 MiB limit
  EXPECT_EQ(oversized.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << oversized.error_message();
  auto bad_version = Upload("no spaces allowed", bytes, sha, &response);
  EXPECT_EQ(bad_version.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_version.error_message().find("header.version"), std::string::npos);
  // Nothing half-stored: one image in the catalog, one blob, no upload left over.
  grpc::ClientContext context;
  v1::ListImagesResponse list;
  ASSERT_TRUE(admin_->ListImages(&context, v1::ListImagesRequest(), &list).ok());
  EXPECT_EQ(list.images_size(), 1);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "uploads"));
  size_t blobs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "images"))
    blobs += e.path().extension() == ".wim";
  EXPECT_EQ(blobs, 1u);
  // Beside it, the SHA-256 of the image up to every chunk's end, computed once for downloads.
  const auto prefixes = std::filesystem::file_size(dir_ / ("images/" + sha + ".wim.prefixes"));
  EXPECT_EQ(prefixes, (bytes.size() + (1 << 20) - 1) / (1 << 20) * 32);
}

// Transport: TLS only, with the controller's own CA. A plaintext client, a client that does not
// trust that CA, and a client showing another CA's certificate all fail the connection; openssl
// sees a server certificate that verifies under DATA_DIR/ca.pem.
TEST_F(ControllerGrpcTest, OnlyTlsClientsThatTrustTheControllerGetThrough) {
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  auto list_images = [](const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListImagesResponse response;
    return v1::AdminService::NewStub(channel)->ListImages(&context, v1::ListImagesRequest(),
                                                          &response);
  };
  EXPECT_TRUE(list_images(channel_).ok());
  auto plaintext = list_images(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();

  auto other_ca = NewCertificateAuthority("Another CA", 30).value();
  grpc::SslCredentialsOptions wrong_trust;
  wrong_trust.pem_root_certs = other_ca.certificate_pem;
  EXPECT_EQ(
      list_images(grpc::CreateChannel(address, grpc::SslCredentials(wrong_trust))).error_code(),
      grpc::StatusCode::UNAVAILABLE);

  auto foreign = IssueWithNewKey(other_ca, {"pc-0042", {}, {}, false, true, 30}).value();
  grpc::SslCredentialsOptions foreign_cert;
  foreign_cert.pem_root_certs = test::ControllerCa(dir_.path());
  foreign_cert.pem_private_key = foreign.key_pem;
  foreign_cert.pem_cert_chain = foreign.certificate_pem;
  EXPECT_EQ(
      list_images(grpc::CreateChannel(address, grpc::SslCredentials(foreign_cert))).error_code(),
      grpc::StatusCode::UNAVAILABLE);

  auto seen = Sh("openssl s_client -connect " + address + " -alpn h2 -CAfile " +
                 Quote(dir_ / "ca.pem") + " -verify_return_error -brief < /dev/null 2>&1");
  EXPECT_NE(seen.out.find("Verification: OK"), std::string::npos) << seen.out;
  // No session tickets (agents' contacts never resume a session; each ticket would cost the
  // controller an encoding of the session). s_client waits a second for post-handshake messages.
  auto tickets = Sh("(sleep 1) | openssl s_client -connect " + address + " -alpn h2 -CAfile " +
                    Quote(dir_ / "ca.pem") + " 2>&1");
  EXPECT_NE(tickets.out.find("Verify return code: 0 (ok)"), std::string::npos) << tickets.out;
  EXPECT_EQ(tickets.out.find("New Session Ticket"), std::string::npos) << tickets.out;
  EXPECT_EQ(Sh("stat -c %a " + Quote(dir_ / "tls/ca.key")).out, "600\n");
}

// Agents: no call without the machine's own certificate; a token works once and expires; a
// revoked machine is refused, and cannot enroll again.
TEST_F(ControllerGrpcTest, AgentsNeedTheirOwnCertificateAndTokensWorkOnce) {
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  auto token = [&](uint32_t seconds) {
    grpc::ClientContext context;
    v1::CreateEnrollmentTokenRequest request;
    request.set_expires_seconds(seconds);
    v1::CreateEnrollmentTokenResponse response;
    EXPECT_TRUE(admin_->CreateEnrollmentToken(&context, request, &response).ok());
    return response.token();
  };
  grpc::SslCredentialsOptions server_only;
  server_only.pem_root_certs = test::ControllerCa(dir_.path());
  auto anonymous =
      v1::AgentService::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(server_only)));
  auto key = NewPrivateKey().value();
  auto enroll = [&](const std::string& t, const std::string& id, v1::EnrollResponse* out) {
    grpc::ClientContext context;
    v1::EnrollRequest request;
    request.set_token(t);
    request.set_machine_id(id);
    request.set_certificate_request(NewCertificateRequest(key, id).value());
    return anonymous->Enroll(&context, request, out);
  };
  auto register_as = [&](const std::shared_ptr<grpc::Channel>& channel, const std::string& id) {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id(id);
    request.set_hostname(id);
    v1::RegisterResponse response;
    return v1::AgentService::NewStub(channel)->Register(&context, request, &response);
  };

  // No client certificate (an operator's token is no substitute).
  for (const auto& channel :
       {channel_, grpc::CreateChannel(address, grpc::SslCredentials(server_only))}) {
    auto status = register_as(channel, "pc-a");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  // A token works once.
  const std::string once = token(0);
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(once, "pc-a", &enrolled).ok());
  auto again = enroll(once, "pc-b", &enrolled);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(again.error_message().find("already used, by pc-a"), std::string::npos)
      << again.error_message();
  EXPECT_EQ(enroll("lbe_" + std::string(64, '0'), "pc-b", &enrolled).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A token expires.
  const std::string brief = token(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto late = enroll(brief, "pc-b", &enrolled);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(late.error_message().find("expired"), std::string::npos) << late.error_message();

  // pc-a's certificate is pc-a's only.
  ASSERT_TRUE(enroll(token(0), "pc-a", &enrolled).ok());
  auto pc_a = test::AgentChannel(address, dir_.path(), {key, enrolled.certificate()});
  EXPECT_TRUE(register_as(pc_a, "pc-a").ok());
  auto other = register_as(pc_a, "pc-b");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(other.error_message().find("machine pc-a's, not pc-b's"), std::string::npos);

  // Revoked (twice: idempotent): refused from now on, and it cannot enroll again; the token it
  // tried stays unused.
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    v1::RevokeMachineRequest request;
    request.set_machine_id("pc-a");
    v1::RevokeMachineResponse response;
    ASSERT_TRUE(admin_->RevokeMachine(&context, request, &response).ok());
  }
  auto revoked = register_as(pc_a, "pc-a");
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(revoked.error_message().find("revoked"), std::string::npos);
  const std::string spare = token(0);
  EXPECT_EQ(enroll(spare, "pc-a", &enrolled).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(enroll(spare, "pc-c", &enrolled).ok());

  // The audit log has the tokens, the enrollments and the revocation.
  grpc::ClientContext context;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(admin_->ListAudit(&context, v1::ListAuditRequest(), &audit).ok());
  std::string actions;
  for (const auto& e : audit.entries())
    actions += e.action() + ":" + e.target() + ":" + e.outcome() + " ";
  EXPECT_NE(actions.find("RevokeMachine:machine pc-a:ok"), std::string::npos) << actions;
  EXPECT_NE(actions.find("CreateEnrollmentToken:expires"), std::string::npos) << actions;
  // And every refusal of an agent call or enrollment.
  for (const char* refused :
       {"Enroll:machine pc-b:denied", "Enroll:machine pc-a:ok", "Register:machine pc-b:denied",
        "Register:machine pc-a:denied", "Enroll:machine pc-a:denied"})
    EXPECT_NE(actions.find(refused), std::string::npos) << refused << "\n" << actions;
}

TEST_F(ControllerGrpcTest, ASignatureIsKeptOnlyIfItDescribesAndMatchesTheImage) {
  // The image's metadata as the controller reads it, from an unsigned publish.
  v1::PublishImageFromPathResponse plain;
  {
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version("0.9");
    request.set_path(*wims_ / "a.wim");
    ASSERT_TRUE(admin_->PublishImageFromPath(&context, request, &plain).ok());
    EXPECT_FALSE(plain.image().has_signature());
  }
  const auto& i = plain.image();
  auto key = GenerateSigningKey().value();
  auto other = GenerateSigningKey().value();
  auto offer = [&](const std::string& version, const ImageManifest& m, const SigningKeyPair& signer,
                   const std::string& public_key, v1::PublishImageFromPathResponse* response) {
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version(version);
    request.set_path(*wims_ / "a.wim");
    auto* s = request.mutable_signed_by();
    s->mutable_signature()->set_manifest(ManifestText(m));
    s->mutable_signature()->set_signature(Sign(signer.private_pem, ManifestText(m)).value());
    s->mutable_signature()->set_key_id(KeyId(signer.public_pem).value());
    s->set_public_key(public_key);
    return admin_->PublishImageFromPath(&context, request, response);
  };
  const ImageManifest right{"1.0",    i.sha256(),      i.size_bytes(),
                            i.name(), i.description(), i.architecture()};
  v1::PublishImageFromPathResponse response;
  // A manifest for another version, for other bytes, or with another name: refused.
  ImageManifest other_version = right, other_size = right, other_name = right;
  other_version.version = "1.1";
  other_size.size += 1;
  other_name.name = "Something else";
  for (const ImageManifest& wrong : {other_version, other_size, other_name}) {
    auto status = offer("1.0", wrong, key, key.public_pem, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("signed_by: the manifest describes"), std::string::npos)
        << status.error_message();
  }
  // Signed by one key, presented with another's public key: refused.
  auto status = offer("1.0", right, key, other.public_pem, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("key_id"), std::string::npos) << status.error_message();
  // Nothing of the refused publishes was kept; the right one is, with its signature.
  ASSERT_TRUE(offer("1.0", right, key, key.public_pem, &response).ok());
  ASSERT_TRUE(response.image().has_signature());
  EXPECT_EQ(response.image().signature().manifest(), ManifestText(right));
  EXPECT_EQ(response.image().signature().key_id(), KeyId(key.public_pem).value());
  EXPECT_TRUE(Verify(key.public_pem, response.image().signature().manifest(),
                     response.image().signature().signature()));
}

TEST_F(ControllerGrpcTest, AgentsGetAssignmentsDownloadWithResumeAndReport) {
  v1::PublishImageFromPathResponse published;
  {
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version("1.0");
    request.set_path(*wims_ / "a.wim");
    ASSERT_TRUE(admin_->PublishImageFromPath(&context, request, &published).ok());
  }
  RegisterMachines(4);
  v1::CreateRolloutResponse created;
  {
    grpc::ClientContext context;
    v1::CreateRolloutRequest request;
    request.mutable_spec()->set_image_version("1.0");
    (*request.mutable_spec()->mutable_selector()->mutable_labels())["site"] = "paris";
    request.mutable_spec()->set_allow_unsigned(true);  // this test's image is unsigned
    ASSERT_TRUE(admin_->CreateRollout(&context, request, &created).ok());
    EXPECT_EQ(created.rollout().progress().targeted(), 2u);
  }
  // pc0 is in Paris: it gets the image; pc1 in Lyon gets nothing.
  v1::HeartbeatResponse beat;
  {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id("pc1");
    ASSERT_TRUE(Agent(request.machine_id()).Heartbeat(&context, request, &beat).ok());
    EXPECT_FALSE(beat.has_assignment());
  }
  {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id("pc0");
    ASSERT_TRUE(Agent(request.machine_id()).Heartbeat(&context, request, &beat).ok());
    ASSERT_TRUE(beat.has_assignment());
    EXPECT_EQ(beat.assignment().image().version(), "1.0");
  }
  // Download in two goes: the first stops after two chunks, the second resumes inside the second
  // chunk (as after a cut mid-write). Chunks end at multiples of 1 MiB, each with the hash of the
  // image up to its end.
  std::string received;
  const std::string sha = beat.assignment().image().sha256();
  {
    grpc::ClientContext context;
    v1::DownloadImageRequest request;
    request.set_sha256(sha);
    auto reader = Agent("pc0").DownloadImage(&context, request);
    v1::DownloadImageResponse chunk;
    for (int i = 0; i < 2 && reader->Read(&chunk); ++i) {
      if (i == 0) {
        EXPECT_EQ(chunk.total_bytes(), published.image().size_bytes());
      }
      received += chunk.data();
    }
    context.TryCancel();
    ASSERT_EQ(received.size(), 2u << 20);
    received.resize(received.size() - 1000);
  }
  {
    grpc::ClientContext context;
    v1::DownloadImageRequest request;
    request.set_sha256(sha);
    request.set_offset(received.size());
    auto reader = Agent("pc0").DownloadImage(&context, request);
    v1::DownloadImageResponse chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.offset(), received.size());
      received += chunk.data();
      if (first) {
        EXPECT_EQ(chunk.data().size(), 1000u);  // up to the next multiple of 1 MiB
        first = false;
      }
      EXPECT_TRUE(received.size() % (1 << 20) == 0 ||
                  received.size() == published.image().size_bytes());
      EXPECT_EQ(chunk.prefix_sha256(),
                Sha256Hex({reinterpret_cast<const uint8_t*>(received.data()), received.size()}));
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
  EXPECT_EQ(Sha256Hex({reinterpret_cast<const uint8_t*>(received.data()), received.size()}), sha);
  {
    grpc::ClientContext context;
    v1::DownloadImageRequest request;
    request.set_sha256(sha);
    request.set_offset(received.size() + 1);
    auto reader = Agent("pc0").DownloadImage(&context, request);
    v1::DownloadImageResponse chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  }
  // Reports are idempotent by sequence.
  for (int round = 0; round < 2; ++round) {
    grpc::ClientContext context;
    v1::ReportProgressRequest request;
    request.set_machine_id("pc0");
    request.set_attempt_id(beat.assignment().attempt_id());
    auto* e1 = request.add_events();
    e1->set_sequence(1);
    e1->set_step("download");
    e1->set_status(v1::StepEvent::STATUS_SUCCEEDED);
    auto* e2 = request.add_events();
    e2->set_sequence(2);
    e2->set_step("done");
    e2->set_status(v1::StepEvent::STATUS_SUCCEEDED);
    v1::ReportProgressResponse ack;
    ASSERT_TRUE(Agent(request.machine_id()).ReportProgress(&context, request, &ack).ok());
    EXPECT_EQ(ack.acknowledged_sequence(), 2u);
  }
  {
    grpc::ClientContext context;
    v1::GetMachineRequest request;
    request.set_id("pc0");
    v1::GetMachineResponse machine;
    ASSERT_TRUE(admin_->GetMachine(&context, request, &machine).ok());
    ASSERT_EQ(machine.attempts_size(), 1);
    EXPECT_EQ(machine.attempts(0).state(), "succeeded");
    EXPECT_EQ(machine.attempts(0).events_size(), 2);
    EXPECT_EQ(machine.machine().inventory().firmware(), v1::FIRMWARE_UEFI);
  }
  {
    grpc::ClientContext context;
    v1::GetFleetSummaryResponse summary;
    ASSERT_TRUE(admin_->GetFleetSummary(&context, v1::GetFleetSummaryRequest(), &summary).ok());
    EXPECT_EQ(summary.machines(), 4u);
    EXPECT_EQ(summary.active_rollouts(), 1u);
  }
}

TEST_F(ControllerGrpcTest, BadRequestsGetStatusCodesNamingTheField) {
  RegisterMachines(1);
  struct Case {
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string field;
  };
  auto rollout = [&](std::function<void(v1::RolloutSpec*)> fill) {
    return [this, fill] {
      grpc::ClientContext context;
      v1::CreateRolloutRequest request;
      request.mutable_spec()->set_image_version("1.0");
      request.mutable_spec()->mutable_selector()->set_all(true);
      fill(request.mutable_spec());
      v1::CreateRolloutResponse response;
      return admin_->CreateRollout(&context, request, &response);
    };
  };
  {
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version("1.0");
    request.set_path(*wims_ / "a.wim");
    v1::PublishImageFromPathResponse response;
    ASSERT_TRUE(admin_->PublishImageFromPath(&context, request, &response).ok());
  }
  const Case cases[] = {
      {rollout([](v1::RolloutSpec* s) { s->set_image_version("9"); }), grpc::StatusCode::NOT_FOUND,
       "image_version"},
      {rollout([](v1::RolloutSpec* s) { s->mutable_selector()->add_machine_ids("pc0"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "selector"},
      {rollout([](v1::RolloutSpec* s) {
         s->add_waves()->set_percent(50);
         s->add_waves()->set_percent(20);
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "waves[1]"},
      {rollout([](v1::RolloutSpec* s) { s->add_waves(); }), grpc::StatusCode::INVALID_ARGUMENT,
       "waves[0]"},
      {[this] {
         grpc::ClientContext context;
         v1::GetRolloutRequest request;
         request.set_id(77);
         v1::GetRolloutResponse response;
         return admin_->GetRollout(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "id"},
      // Issue 12, item 10: a 100,000-character version got a metadata-size error naming nothing.
      {[this] {
         grpc::ClientContext context;
         v1::PublishImageFromPathRequest request;
         request.set_version(std::string(100000, '7'));
         request.set_path(*wims_ / "a.wim");
         v1::PublishImageFromPathResponse response;
         return admin_->PublishImageFromPath(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "version: '7777"},
      {[this] {
         grpc::ClientContext context;
         v1::GetMachineRequest request;
         request.set_id(std::string(100000, 'x'));
         v1::GetMachineResponse response;
         return admin_->GetMachine(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "id: no machine xxx"},
      {[this] {
         grpc::ClientContext context;
         v1::GetMachineRequest request;
         request.set_id("nobody");
         v1::GetMachineResponse response;
         return admin_->GetMachine(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "id"},
      {[this] {
         grpc::ClientContext context;
         v1::HeartbeatRequest request;
         request.set_machine_id("nobody");
         v1::HeartbeatResponse response;
         return Agent("nobody").Heartbeat(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "nobody"},
      {[this] {
         grpc::ClientContext context;
         v1::RegisterRequest request;
         request.set_hostname("x");
         v1::RegisterResponse response;
         return Agent("x").Register(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "machine_id"},
      {[this] {
         grpc::ClientContext context;
         v1::RetireImageRequest request;
         request.set_version("nope");
         v1::RetireImageResponse response;
         return admin_->RetireImage(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "nope"},
  };
  for (const auto& c : cases) {
    auto status = c.call();
    EXPECT_EQ(status.error_code(), c.code) << c.field << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.field), std::string::npos) << status.error_message();
  }
}

}  // namespace
}  // namespace lifeboat::controller

namespace lifeboat::controller {
namespace {

// The HTTP side, read with curl: health, Prometheus metrics that count the gRPC calls made, and
// the read-only JSON API.
TEST(ControllerHttp, HealthMetricsAndJsonApi) {
  TempDir dir;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.http_listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  auto server = Server::Start(options);
  ASSERT_TRUE(server) << server.error().message;
  // HTTPS with the controller's certificate: curl checks it against DATA_DIR/ca.pem. (Each curl
  // call below gets the CA through `base`'s prefix.)
  const std::string base = "--cacert " + Quote(dir / "ca.pem") +
                           " https://127.0.0.1:" + std::to_string((*server)->http_port());
  const std::string auth = "-H 'Authorization: Bearer " + test::AdminToken(dir.path()) + "' ";
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  auto agent = [&](const std::string& id) {
    return v1::AgentService::NewStub(
        test::AgentChannel(address, dir.path(), test::EnrollAgent(address, dir.path(), id)));
  };
  for (const char* id : {"alpha", "beta"}) {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id(id);
    request.set_hostname(std::string(id) + ".corp");
    v1::RegisterResponse response;
    ASSERT_TRUE(agent(id)->Register(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id("ghost");
    v1::HeartbeatResponse response;
    EXPECT_EQ(agent("ghost")->Heartbeat(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  // Plain HTTP is not served, and a client that does not trust the CA gets nothing.
  const std::string port = std::to_string((*server)->http_port());
  EXPECT_NE(Sh("curl -sf http://127.0.0.1:" + port + "/healthz").exit_code, 0);
  EXPECT_NE(Sh("curl -sf https://127.0.0.1:" + port + "/healthz").exit_code, 0);
  // Only /healthz is open; the rest needs a viewer's token, as over gRPC.
  EXPECT_EQ(Sh("curl -sf " + base + "/healthz").out, "ok\n");
  for (const char* path : {"/metrics", "/api/v1/machines"}) {
    EXPECT_EQ(Sh("curl -s -o /dev/null -w '%{http_code}' " + base + path).out, "401") << path;
    EXPECT_EQ(Sh("curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer lbo_nobody' " +
                 base + path)
                  .out,
              "401")
        << path;
  }
  auto health = Sh("curl -sf " + auth + base + "/healthz");
  EXPECT_EQ(health.exit_code, 0);
  EXPECT_EQ(health.out, "ok\n");
  auto metrics = Sh("curl -sf " + auth + base + "/metrics");
  ASSERT_EQ(metrics.exit_code, 0);
  EXPECT_NE(metrics.out.find("lifeboat_machines{state=\"idle\"} 2"), std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("lifeboat_rpc_requests_total{method=\"/lifeboat.v1.AgentService/"
                             "Register\",code=\"0\"} 2"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("lifeboat_rpc_requests_total{method=\"/lifeboat.v1.AgentService/"
                             "Heartbeat\",code=\"5\"} 1"),
            std::string::npos);
  EXPECT_NE(
      metrics.out.find(
          "lifeboat_rpc_duration_seconds_count{method=\"/lifeboat.v1.AgentService/Register\"} 2"),
      std::string::npos);
  auto machines = Sh("curl -sf " + auth + base + "/api/v1/machines");
  ASSERT_EQ(machines.exit_code, 0);
  EXPECT_NE(machines.out.find("\"hostname\":\"beta.corp\""), std::string::npos) << machines.out;
  auto one = Sh("curl -sf " + auth + base + "/api/v1/machines/alpha");
  EXPECT_NE(one.out.find("\"id\":\"alpha\""), std::string::npos) << one.out;
  EXPECT_EQ(
      Sh("curl -s -o /dev/null -w '%{http_code}' " + auth + base + "/api/v1/machines/nobody").out,
      "404");
  // An error naming an id with a newline, a quote and a backslash is still valid JSON.
  auto odd = Sh("curl -s " + auth + base + "/api/v1/machines/a%0Ab%22c%5Cd%01");
  Poco::JSON::Parser parser;
  Poco::JSON::Object::Ptr parsed;
  ASSERT_NO_THROW(parsed = parser.parse(odd.out).extract<Poco::JSON::Object::Ptr>()) << odd.out;
  EXPECT_NE(parsed->getObject("error")->getValue<std::string>("message").find("a\nb\"c\\d\x01"),
            std::string::npos)
      << odd.out;
  EXPECT_EQ(
      Sh("curl -s -o /dev/null -w '%{http_code}' " + auth + base + "/api/v1/rollouts/abc").out,
      "400");
  EXPECT_EQ(Sh("curl -s -o /dev/null -w '%{http_code}' " + auth + base + "/api/v1/rollouts/7").out,
            "404");
  EXPECT_EQ(
      Sh("curl -s -o /dev/null -w '%{http_code}' -X POST " + auth + base + "/api/v1/machines").out,
      "405");
  // Every answer in the shape of docs/json.md, judged by python3-jsonschema.
  EXPECT_EQ(test::JsonShapeProblem(machines.out, "machine_list"), "");
  EXPECT_EQ(test::JsonShapeProblem(one.out, "machine_show"), "");
  EXPECT_EQ(test::JsonShapeProblem(odd.out, "error"), "");
  auto not_an_id = Sh("curl -s " + auth + base + "/api/v1/rollouts/abc");
  EXPECT_EQ(test::JsonShapeProblem(not_an_id.out, "error"), "");
  EXPECT_EQ(test::Json(not_an_id.out)->getObject("error")->getValue<std::string>("field"), "id");
  auto missing = Sh("curl -s " + auth + base + "/api/v1/rollouts/7");
  EXPECT_EQ(test::Json(missing.out)->getObject("error")->getValue<std::string>("code"),
            "not_found");
}

// Overwrites page `page` (4 KiB pages) of an SQLite file with random bytes, after folding its
// write-ahead log into it, so that the damage is in what every reader reads.
void DamagePage(const std::string& db, int page) {
  auto r =
      Sh("sqlite3 " + Quote(db) +
         " 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null && "
         "head -c 4096 /dev/urandom | dd of=" +
         Quote(db) + " bs=4096 seek=" + std::to_string(page - 1) + " conv=notrunc status=none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Issue 12, item 9: a store with damaged pages started, /healthz said ok, and calls then failed
// with "database disk image is malformed".
TEST(ControllerStore, ADamagedStoreIsRefusedAtStartAndHealthzSaysSo) {
  TempDir dir;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.http_listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  const std::string db = dir / "fleet.db";
  {
    auto server = Server::Start(options);
    ASSERT_TRUE(server) << server.error().message;
    const std::string base = "--cacert " + Quote(dir / "ca.pem") +
                             " https://localhost:" + std::to_string((*server)->http_port());
    EXPECT_EQ(Sh("curl -sf " + base + "/healthz").out, "ok\n");
    // Pages 3 and on hold tables; page 1 holds the schema, which would fail the very first read.
    DamagePage(db, 3);
    // The file is checked at most every 5 seconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(5100));
    auto health = Sh("curl -s -w ' %{http_code}' " + base + "/healthz");
    EXPECT_NE(health.out.find(" 503"), std::string::npos) << health.out;
    EXPECT_NE(health.out.find(db + " is damaged"), std::string::npos) << health.out;
  }
  // The controller refuses to start on it, naming the file and how to recover.
  auto again = Server::Start(options);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(again.error().message.find(db + " is damaged"), std::string::npos)
      << again.error().message;
  EXPECT_NE(again.error().message.find(".recover"), std::string::npos) << again.error().message;
  auto process = Sh(Quote(LIFEBOAT_CONTROLLER) + " --listen 127.0.0.1:0 --http off --data-dir " +
                    Quote(dir.path()));
  EXPECT_EQ(process.exit_code, 1);
  EXPECT_NE(process.err.find("is damaged"), std::string::npos) << process.err;
}

}  // namespace
}  // namespace lifeboat::controller
