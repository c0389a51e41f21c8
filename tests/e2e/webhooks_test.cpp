// Webhooks against a real HTTP receiver on loopback (Python's http.server): every kind of fleet
// event arrives as JSON, signed with the shared secret (checked with Python's hmac, not ours),
// a delivery refused at first is retried until it is taken, and the controller records each.
#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

// Answers 500 to the first POST and 200 to the others; writes each request as a JSON line.
constexpr const char* kReceiver = R"(
import http.server, json, sys
posts = 0
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global posts
        posts += 1
        body = self.rfile.read(int(self.headers['Content-Length'])).decode()
        status = 500 if posts == 1 else 200
        with open(sys.argv[2], 'a') as out:
            out.write(json.dumps({'status': status, 'event': self.headers['X-Lifeboat-Event'],
                                  'delivery': self.headers['X-Lifeboat-Delivery'],
                                  'signature': self.headers['X-Lifeboat-Signature'],
                                  'body': body}) + '\n')
        self.send_response(status)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(('127.0.0.1', 0), Receiver)
open(sys.argv[1], 'w').write(str(server.server_address[1]))
server.serve_forever()
)";

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_ / "receiver.py") << kReceiver;
    receiver_pid_ = Sh("python3 " + Quote(dir_ / "receiver.py") + " " + Quote(dir_ / "port") + " " +
                       Quote(dir_ / "posts") + " >/dev/null 2>&1 & echo $!")
                        .out;
    for (int i = 0; i < 100 && ReadAll(dir_ / "port").empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(ReadAll(dir_ / "port").empty());
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_ / "controller";
    options.webhook_urls = {"http://127.0.0.1:" + ReadAll(dir_ / "port") + "/hooks/lifeboat"};
    options.webhook_secret = "s3cret";
    auto s = Server::Start(options);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_.reset();
    Sh("kill " + receiver_pid_);
  }
  // The requests received, as "event status" lines, once `count` arrived (or 20 s passed).
  std::vector<Poco::JSON::Object::Ptr> Posts(size_t count) {
    std::vector<Poco::JSON::Object::Ptr> posts;
    for (int i = 0; i < 200 && posts.size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      posts.clear();
      std::istringstream lines(ReadAll(dir_ / "posts"));
      for (std::string line; std::getline(lines, line);) posts.push_back(test::Json(line));
    }
    return posts;
  }
  void Report(v1::AgentService::Stub& agent, const std::string& machine, uint64_t attempt,
              const std::string& step, v1::StepEvent::Status status, const std::string& message) {
    grpc::ClientContext context;
    v1::ReportProgressRequest request;
    request.set_machine_id(machine);
    request.set_attempt_id(attempt);
    auto* e = request.add_events();
    e->set_sequence(1);
    e->set_step(step);
    e->set_status(status);
    e->set_message(message);
    v1::ReportProgressResponse response;
    ASSERT_TRUE(agent.ReportProgress(&context, request, &response).ok());
  }

  TempDir dir_;
  std::string receiver_pid_, address_;
  std::unique_ptr<Server> server_;
};

TEST_F(WebhooksTest, EveryEventIsPostedSignedAndRetriedUntilTaken) {
  ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(dir_ / "v1.wim", ""));
  const std::string ctl = Quote(LIFEBOAT_CTL) + " --controller " + address_ + " --ca " +
                          Quote(dir_ / "controller/ca.pem") + " --token-file " +
                          Quote(dir_ / "controller/admin.token") + " ";
  ASSERT_EQ(Sh(ctl + "image publish " + Quote(dir_ / "v1.wim") + " --version 1.0").exit_code, 0);
  // A machine that network-boots unknown: pending acceptance.
  {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = test::ControllerCa(dir_ / "controller");
    auto anyone =
        v1::AgentService::NewStub(grpc::CreateChannel(address_, grpc::SslCredentials(tls)));
    grpc::ClientContext context;
    v1::ServiceHelloRequest hello;
    hello.mutable_identity()->set_smbios_uuid("6b7c3e2a-1111-4222-8333-944455556666");
    hello.mutable_identity()->add_macs("52:54:00:12:34:56");
    hello.set_computer_name("DESKTOP-7");
    v1::ServiceHelloResponse answer;
    ASSERT_TRUE(anyone->ServiceHello(&context, hello, &answer).ok());
    EXPECT_EQ(answer.outcome(), v1::ServiceHelloResponse::OUTCOME_PENDING);
  }
  // A machine whose attempt fails: the machine failed, and the rollout halts.
  const auto identity = test::EnrollAgent(address_, dir_ / "controller", "pc-1");
  auto agent =
      v1::AgentService::NewStub(test::AgentChannel(address_, dir_ / "controller", identity));
  {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id("pc-1");
    request.set_hostname("pc-1.corp");
    v1::RegisterResponse response;
    ASSERT_TRUE(agent->Register(&context, request, &response).ok());
  }
  auto assignment = [&] {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id("pc-1");
    v1::HeartbeatResponse response;
    EXPECT_TRUE(agent->Heartbeat(&context, request, &response).ok());
    return response.assignment().attempt_id();
  };
  ASSERT_EQ(Sh(ctl + "rollout create --image 1.0 --all --allow-unsigned").exit_code, 0);
  const uint64_t first = assignment();
  ASSERT_GT(first, 0u);
  Report(*agent, "pc-1", first, "write-image", v1::StepEvent::STATUS_FAILED, "disk full");
  // Aborted, then a second rollout that succeeds: completed.
  ASSERT_EQ(Sh(ctl + "rollout abort 1").exit_code, 0);
  ASSERT_EQ(Sh(ctl + "rollout create --image 1.0 --all --allow-unsigned").exit_code, 0);
  const uint64_t second = assignment();
  ASSERT_GT(second, first);
  Report(*agent, "pc-1", second, "done", v1::StepEvent::STATUS_SUCCEEDED, "");

  // Four events, the first delivery refused once: five requests.
  auto posts = Posts(5);
  ASSERT_EQ(posts.size(), 5u) << ReadAll(dir_ / "posts");
  // The refused one is sent again, as the same delivery, and taken.
  EXPECT_EQ(posts[0]->getValue<int>("status"), 500);
  const std::string refused = posts[0]->getValue<std::string>("delivery");
  int taken_again = 0;
  std::map<std::string, Poco::JSON::Object::Ptr> bodies;
  for (size_t i = 1; i < posts.size(); ++i) {
    EXPECT_EQ(posts[i]->getValue<int>("status"), 200);
    if (posts[i]->getValue<std::string>("delivery") == refused) ++taken_again;
    const std::string body = posts[i]->getValue<std::string>("body");
    // The signature, checked by Python's hmac module.
    auto expected = Sh("python3 -c " +
                       Quote("import hmac, hashlib, sys\n"
                             "print('sha256=' + hmac.new(b's3cret', sys.argv[1].encode(), "
                             "hashlib.sha256).hexdigest())") +
                       " " + Quote(body));
    EXPECT_EQ(posts[i]->getValue<std::string>("signature") + "\n", expected.out) << body;
    auto json = test::Json(body);
    EXPECT_EQ(json->getValue<std::string>("event"), posts[i]->getValue<std::string>("event"));
    EXPECT_EQ(std::to_string(json->getValue<uint64_t>("delivery")),
              posts[i]->getValue<std::string>("delivery"));
    bodies[json->getValue<std::string>("event")] = json;
  }
  EXPECT_EQ(taken_again, 1);
  ASSERT_EQ(bodies.size(), 4u) << ReadAll(dir_ / "posts");
  auto pending = bodies.at("machine.pending");
  EXPECT_EQ(pending->getValue<std::string>("machine_id"), "6b7c3e2a-1111-4222-8333-944455556666");
  EXPECT_TRUE(pending->isNull("rollout_id"));
  EXPECT_NE(pending->getValue<std::string>("message").find("DESKTOP-7"), std::string::npos);
  auto failed = bodies.at("machine.failed");
  EXPECT_EQ(failed->getValue<std::string>("machine_id"), "pc-1");
  EXPECT_EQ(failed->getValue<int>("rollout_id"), 1);
  EXPECT_EQ(failed->getValue<std::string>("message"), "write-image: disk full");
  auto halted = bodies.at("rollout.halted");
  EXPECT_EQ(halted->getValue<int>("rollout_id"), 1);
  EXPECT_NE(halted->getValue<std::string>("message").find("threshold"), std::string::npos);
  auto completed = bodies.at("rollout.completed");
  EXPECT_EQ(completed->getValue<int>("rollout_id"), 2);
  EXPECT_TRUE(completed->isNull("machine_id"));

  // Recorded: every delivery delivered, the first after two attempts (sqlite3 reads the store).
  auto rows = Sh("sqlite3 " + Quote(dir_ / "controller/fleet.db") +
                 " 'SELECT event, state, attempts FROM webhook_deliveries ORDER BY id'");
  EXPECT_EQ(rows.out,
            "machine.pending|delivered|2\nmachine.failed|delivered|1\nrollout.halted|delivered|1\n"
            "rollout.completed|delivered|1\n")
      << rows.err;
}

TEST(Webhooks, BackoffDoublesUpToFiveMinutesAndBadSettingsAreRefused) {
  EXPECT_EQ(WebhookBackoffSeconds(1), 1);
  EXPECT_EQ(WebhookBackoffSeconds(2), 2);
  EXPECT_EQ(WebhookBackoffSeconds(5), 16);
  EXPECT_EQ(WebhookBackoffSeconds(9), 256);
  EXPECT_EQ(WebhookBackoffSeconds(10), 300);
  EXPECT_EQ(WebhookBackoffSeconds(40), 300);
  TempDir dir;
  for (const auto& [urls, secret, field] :
       std::vector<std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"ftp://example/hook"}, "k", "webhook_urls"},
           {{"not a url"}, "k", "webhook_urls"},
           {{"http://127.0.0.1:9/hook"}, "", "webhook_secret"}}) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir.path();
    options.webhook_urls = urls;
    options.webhook_secret = secret;
    auto refused = Server::Start(options);
    ASSERT_FALSE(refused) << urls[0];
    EXPECT_EQ(refused.error().field, field);
  }
  // The program: webhooks without a secret file are a usage error.
  auto r = Sh(Quote(LIFEBOAT_CONTROLLER) + " --listen 127.0.0.1:0 --http off --data-dir " +
              Quote(dir.path()) + " --webhooks http://127.0.0.1:9/hook");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--webhook-secret-file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lifeboat::controller
