// The controller's HTTP side (health, metrics, the JSON API) read with curl, and a damaged store.
#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

// A controller in `dir` with gRPC and HTTPS on free loopback ports.
ServerOptions OnLoopback(const TempDir& dir) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.http_listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  return options;
}

// curl's arguments that reach `host`'s HTTPS port, checking the certificate against the CA the
// controller made in its data folder.
std::string HttpsBase(const TempDir& dir, const std::string& host, const Server& server) {
  return "--cacert " + Quote(dir / "ca.pem") + " https://" + host + ":" +
         std::to_string(server.http_port());
}

// The HTTP side, read with curl: health, Prometheus metrics that count the gRPC calls made, and
// the read-only JSON API.
TEST(ControllerHttp, HealthMetricsAndJsonApi) {
  TempDir dir;
  auto server = Server::Start(OnLoopback(dir));
  ASSERT_TRUE(server) << server.error().message;
  // Each curl call below gets the CA through `base`'s prefix.
  const std::string base = HttpsBase(dir, "127.0.0.1", **server);
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
  const ServerOptions options = OnLoopback(dir);
  const std::string db = dir / "fleet.db";
  {
    auto server = Server::Start(options);
    ASSERT_TRUE(server) << server.error().message;
    const std::string base = HttpsBase(dir, "localhost", **server);
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
