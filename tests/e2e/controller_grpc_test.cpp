// The controller's services over a real gRPC server on loopback: health and reflection, uploads
// (good, wrong hash, not a WIM, duplicate, oversized), TLS, agents' certificates and one-time
// tokens, and signatures. (Assignments and bad input: controller_flow_test.cpp; the HTTP side:
// controller_http_test.cpp.)
#include <grpcpp/generic/generic_stub.h>

#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

// An agent that has no certificate yet: it enrolls with a token for a key it made, over a channel
// that only checks the controller.
class Newcomer {
 public:
  Newcomer(const std::string& address, const std::string& data_dir) : key(NewPrivateKey().value()) {
    grpc::SslCredentialsOptions server_only;
    server_only.pem_root_certs = test::ControllerCa(data_dir);
    stub_ =
        v1::AgentService::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(server_only)));
  }
  grpc::Status Enroll(const std::string& token, const std::string& id, v1::EnrollResponse* out) {
    grpc::ClientContext context;
    v1::EnrollRequest request;
    request.set_token(token);
    request.set_machine_id(id);
    request.set_certificate_request(NewCertificateRequest(key, id).value());
    return stub_->Enroll(&context, request, out);
  }
  const std::string key;

 private:
  std::unique_ptr<v1::AgentService::Stub> stub_;
};

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
  Newcomer newcomer(address, dir_.path());
  const std::string& key = newcomer.key;
  auto enroll = [&](const std::string& t, const std::string& id, v1::EnrollResponse* out) {
    return newcomer.Enroll(t, id, out);
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
  EXPECT_NE(actions.find("CreateEnrollmentToken:token "), std::string::npos) << actions;
  // And every refusal of an agent call or enrollment.
  for (const char* refused :
       {"Enroll:machine pc-b:denied", "Enroll:machine pc-a:ok", "Register:machine pc-b:denied",
        "Register:machine pc-a:denied", "Enroll:machine pc-a:denied"})
    EXPECT_NE(actions.find(refused), std::string::npos) << refused << "\n" << actions;
}

// A site's key: one token for several machines, each given its fixed labels, until its uses are
// spent; listed without the token itself; revoked at once.
TEST_F(ControllerGrpcTest, ASiteKeyEnrollsSeveralMachinesUntilSpentOrRevoked) {
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  auto make = [&](uint32_t uses, v1::CreateEnrollmentTokenResponse* out) {
    grpc::ClientContext context;
    v1::CreateEnrollmentTokenRequest request;
    request.set_uses(uses);
    (*request.mutable_labels())["site"] = "lyon";
    return admin_->CreateEnrollmentToken(&context, request, out);
  };
  Newcomer newcomer(address, dir_.path());
  auto enroll = [&](const std::string& t, const std::string& id, v1::EnrollResponse* out) {
    return newcomer.Enroll(t, id, out);
  };
  auto list = [&] {
    grpc::ClientContext context;
    v1::ListEnrollmentTokensResponse response;
    EXPECT_TRUE(admin_->ListEnrollmentTokens(&context, {}, &response).ok());
    std::map<std::string, v1::EnrollmentToken> by_id;
    for (const auto& t : response.tokens()) by_id[t.id()] = t;
    return by_id;
  };
  auto revoke = [&](const std::string& id) {
    grpc::ClientContext context;
    v1::RevokeEnrollmentTokenRequest request;
    request.set_id(id);
    v1::RevokeEnrollmentTokenResponse response;
    return admin_->RevokeEnrollmentToken(&context, request, &response);
  };

  v1::CreateEnrollmentTokenResponse site, spare;
  ASSERT_TRUE(make(2, &site).ok());
  ASSERT_TRUE(make(5, &spare).ok());
  EXPECT_EQ(site.id(),
            Sha256Hex({reinterpret_cast<const uint8_t*>(site.token().data()), site.token().size()})
                .substr(0, 12));
  v1::EnrollResponse enrolled;
  for (const char* id : {"pc-1", "pc-2"}) {
    ASSERT_TRUE(enroll(site.token(), id, &enrolled).ok()) << id;
    EXPECT_EQ(enrolled.labels().at("site"), "lyon");
  }
  auto spent = enroll(site.token(), "pc-3", &enrolled);
  EXPECT_EQ(spent.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(spent.error_message().find("all its 2 uses are spent (the last by pc-2"),
            std::string::npos)
      << spent.error_message();

  auto tokens = list();
  ASSERT_EQ(tokens.count(site.id()), 1u);
  EXPECT_EQ(tokens[site.id()].state(), "spent");
  EXPECT_EQ(tokens[site.id()].uses(), 2u);
  EXPECT_EQ(tokens[site.id()].max_uses(), 2u);
  EXPECT_EQ(tokens[site.id()].last_used_by(), "pc-2");
  EXPECT_EQ(tokens[site.id()].labels().at("site"), "lyon");
  EXPECT_EQ(tokens[spare.id()].state(), "usable");
  for (const auto& [id, t] : tokens) EXPECT_EQ(t.DebugString().find("lbe_"), std::string::npos);

  ASSERT_TRUE(revoke(spare.id()).ok());
  ASSERT_TRUE(revoke(spare.id()).ok());  // idempotent
  auto refused = enroll(spare.token(), "pc-3", &enrolled);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(refused.error_message().find("revoked at"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(list()[spare.id()].state(), "revoked");
  EXPECT_EQ(list()[spare.id()].uses(), 0u);

  EXPECT_EQ(revoke("0123456789ab").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(revoke("../etc").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::CreateEnrollmentTokenResponse too_many;
  EXPECT_EQ(make(100001, &too_many).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControllerGrpcTest, ASignatureIsKeptOnlyIfItDescribesAndMatchesTheImage) {
  // The image's metadata as the controller reads it, from an unsigned publish.
  v1::PublishImageFromPathResponse plain;
  ASSERT_TRUE(PublishFromPath("0.9", "a.wim", &plain).ok());
  EXPECT_FALSE(plain.image().has_signature());
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
                            i.name(), i.description(), i.architecture(), {}, {}};
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

}  // namespace
}  // namespace lifeboat::controller
