// Agents' client certificates are renewed before they expire: over gRPC with the current
// certificate (checked with openssl, a tool we did not write), refused for another machine, a
// revoked one and a service visit's day-long certificate; and by the agent itself, which renews
// at its contact once less than its renewal margin is left, and not before.
#include <fstream>

#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

constexpr std::chrono::seconds kLifetime{3 * 86400};

class CertificateRenewalTest : public ControllerGrpcTest {
 protected:
  void Configure(ServerOptions& options) override {
    options.agent_certificate_lifetime = kLifetime;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  // RenewCertificate as the holder of `identity` asks for `machine_id`, for `key`'s public key.
  grpc::Status Renew(const KeyAndCertificate& identity, const std::string& machine_id,
                     const std::string& key, std::string* certificate) {
    auto agent = v1::AgentService::NewStub(test::AgentChannel(address(), dir_.path(), identity));
    grpc::ClientContext context;
    v1::RenewCertificateRequest request;
    request.set_machine_id(machine_id);
    request.set_certificate_request(NewCertificateRequest(key, machine_id).value());
    v1::RenewCertificateResponse response;
    auto status = agent->RenewCertificate(&context, request, &response);
    *certificate = response.certificate();
    return status;
  }
  // What `openssl ARGS -in CERTIFICATE` says.
  test::CommandResult Openssl(const std::string& pem, const std::string& args) {
    const std::string file = dir_ / "checked.pem";
    std::ofstream(file) << pem;
    return Sh("openssl " + args + " -in " + Quote(file));
  }
  // openssl verify's judgement: issued by the controller's CA, valid now, for TLS clients.
  test::CommandResult Verify(const std::string& pem) {
    const std::string file = dir_ / "verified.pem";
    std::ofstream(file) << pem;
    return Sh("openssl verify -purpose sslclient -CAfile " + Quote(dir_ / "ca.pem") + " " +
              Quote(file));
  }
  std::vector<std::string> AuditOf(const std::string& action) {
    grpc::ClientContext context;
    v1::ListAuditRequest request;
    request.set_action(action);
    v1::ListAuditResponse response;
    EXPECT_TRUE(admin_->ListAudit(&context, request, &response).ok());
    std::vector<std::string> out;
    for (const auto& e : response.entries()) out.push_back(e.target() + " " + e.outcome());
    return out;
  }
};

TEST_F(CertificateRenewalTest, AMachineRenewsWithItsCurrentCertificateAndNobodyElseCan) {
  const auto pc0 = test::EnrollAgent(address(), dir_.path(), "pc0");
  ASSERT_FALSE(pc0.certificate_pem.empty());
  auto enrolled = ReadCertificate(pc0.certificate_pem).value();
  // Issued for the configured lifetime (and backdated five minutes for clocks that differ).
  EXPECT_NEAR(static_cast<double>(enrolled.not_after - enrolled.not_before),
              static_cast<double>(kLifetime.count() + 300), 5);

  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string renewed;
  ASSERT_TRUE(Renew(pc0, "pc0", pc0.key_pem, &renewed).ok());
  auto fresh = ReadCertificate(renewed).value();
  EXPECT_EQ(fresh.common_name, "pc0");
  EXPECT_NE(fresh.serial, enrolled.serial);
  EXPECT_GT(fresh.not_after, enrolled.not_after);
  auto verified = Verify(renewed);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(Openssl(renewed, "x509 -noout -subject").out.find("CN = pc0"), std::string::npos);
  // The renewed certificate works for the machine's calls.
  {
    auto agent = v1::AgentService::NewStub(
        test::AgentChannel(address(), dir_.path(), {pc0.key_pem, renewed}));
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id("pc0");
    request.set_hostname("pc0.corp");
    v1::RegisterResponse response;
    auto status = agent->Register(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // A new key may be certified too (the agent keeps its own, but may rotate it).
  const std::string new_key = NewPrivateKey().value();
  ASSERT_TRUE(Renew(pc0, "pc0", new_key, &renewed).ok());

  // pc0's certificate does not get pc1 one.
  std::string none;
  EXPECT_EQ(Renew(pc0, "pc1", pc0.key_pem, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(none.empty());
  // A service visit's day-long certificate (issued by the same CA) is never renewed.
  KeyAndCertificate ca{ReadAll(dir_ / "tls/ca.key"), ReadAll(dir_ / "tls/ca.pem")};
  const std::string visit_key = NewPrivateKey().value();
  const KeyAndCertificate visit{
      visit_key, IssueCertificate(ca, NewCertificateRequest(visit_key, "pc2").value(),
                                  {"pc2", {}, {}, false, true, 1})
                     .value()};
  auto refused = Renew(visit, "pc2", visit_key, &none);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(refused.error_message().find("service visit"), std::string::npos)
      << refused.error_message();
  // A revoked machine's certificate gets nothing.
  {
    grpc::ClientContext context;
    v1::RevokeMachineRequest request;
    request.set_machine_id("pc0");
    v1::RevokeMachineResponse response;
    ASSERT_TRUE(admin_->RevokeMachine(&context, request, &response).ok());
  }
  EXPECT_EQ(Renew(pc0, "pc0", pc0.key_pem, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(AuditOf("RenewCertificate"),
            (std::vector<std::string>{"machine pc0 denied", "machine pc2 denied",
                                      "machine pc1 denied", "machine pc0 ok", "machine pc0 ok"}));
}

// The agent renews at a contact when less than renew_certificate_before is left, keeping the
// new certificate in its state folder, and leaves a certificate with more left alone.
TEST_F(CertificateRenewalTest, TheAgentRenewsItsOwnCertificateWhenItIsDue) {
  grpc::ClientContext context;
  v1::CreateEnrollmentTokenResponse token;
  ASSERT_TRUE(
      admin_->CreateEnrollmentToken(&context, v1::CreateEnrollmentTokenRequest(), &token).ok());
  const std::string state = dir_ / "agent-state";
  std::filesystem::create_directories(state);
  // Runs the agent for a few seconds with this margin: it enrolls (first time), maybe renews,
  // then stops at its inventory (no disk here).
  auto run = [&](const std::string& margin) {
    std::ofstream(dir_ / "agent.conf")
        << "controller = " << address() << "\nmachine_id = pc-renew\ndisk = /nonexistent\n"
        << "state_dir = " << state << "\nca = " << (dir_ / "ca.pem")
        << "\nenrollment_token = " << token.token() << "\nrenew_certificate_before = " << margin
        << "\n";
    return Sh("timeout 4 " + Quote(LIFEBOAT_AGENT) + " run --config " + Quote(dir_ / "agent.conf") +
              " 2>&1");
  };
  // 4 days' margin on a 3-day certificate: due as soon as it is issued.
  auto first = run("4d");
  EXPECT_NE(first.out.find("client certificate renewed: valid until"), std::string::npos)
      << first.out;
  EXPECT_EQ(AuditOf("Enroll"), std::vector<std::string>{"machine pc-renew ok"});
  EXPECT_EQ(AuditOf("RenewCertificate").size(), 1u) << first.out;
  const std::string kept = ReadAll(state + "/agent.pem");
  auto verified = Verify(kept);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  // A day's margin: nothing to do, and the certificate on disk stays the one it has.
  auto second = run("1d");
  EXPECT_EQ(second.out.find("renewed"), std::string::npos) << second.out;
  EXPECT_EQ(AuditOf("RenewCertificate").size(), 1u) << second.out;
  EXPECT_EQ(ReadAll(state + "/agent.pem"), kept);
}

}  // namespace
}  // namespace lifeboat::controller
