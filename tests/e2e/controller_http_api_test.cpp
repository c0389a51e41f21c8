// The HTTP API's reads, read with curl from a real controller: every read the CLI can do, paged
// and filtered as over gRPC, the machine list as CSV, the audit log for admins only, and
// lifeboatctl following the pages of a fleet larger than one.
#include <regex>

#include "controller/fleet_store.h"
#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

// Machines added straight to the store of `data_dir` before the controller starts, in one
// transaction (sqlite3, SQLite's own tool): a fleet of `n` without enrolling each.
void AddStoredMachines(const std::string& data_dir, int n) {
  ASSERT_TRUE(FleetStore::OpenSqlite(data_dir + "/fleet.db"));  // the schema
  auto r = Sh("sqlite3 " + Quote(data_dir + "/fleet.db") +
              " \"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
              std::to_string(n) +
              ") INSERT INTO machines(id, hostname, inventory, installed_version, state, "
              "current_step, last_seen, registered_at) SELECT printf('bulk-%05d', i), "
              "printf('bulk-%05d.corp', i), '', '0.9', 'idle', '', '2020-01-01T00:00:00.000Z', "
              "'2020-01-01T00:00:00.000Z' FROM n\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.http_listen = "127.0.0.1:0";
    options.data_dir = dir_.path();
    auto s = Server::Start(options);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    base_ = "--cacert " + Quote(dir_ / "ca.pem") +
            " https://127.0.0.1:" + std::to_string(server_->http_port());
    admin_ = test::AdminToken(dir_.path());
  }
  // Registers machine `id` as its agent would, with this inventory and labels.
  void Register(const std::string& id, const std::string& hostname, const std::string& version,
                std::optional<uint64_t> winre_free,
                const std::map<std::string, std::string>& labels) {
    auto agent = v1::AgentService::NewStub(
        test::AgentChannel(address_, dir_.path(), test::EnrollAgent(address_, dir_.path(), id)));
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id(id);
    request.set_hostname(hostname);
    request.mutable_inventory()->set_installed_version(version);
    if (winre_free) {
      request.mutable_inventory()->set_winre_size_bytes(300 << 20);
      request.mutable_inventory()->set_winre_free_bytes(*winre_free);
    }
    for (const auto& [k, v] : labels) (*request.mutable_labels())[k] = v;
    v1::RegisterResponse response;
    ASSERT_TRUE(agent->Register(&context, request, &response).ok()) << id;
  }
  // GET `path` with `token`: the body, and the status code on the last line's own.
  std::pair<int, std::string> Get(const std::string& path, const std::string& token = "") {
    auto r = Sh("curl -s -w '\\n%{http_code}' -H " +
                Quote("Authorization: Bearer " + (token.empty() ? admin_ : token)) + " " + base_ +
                Quote(path));
    const size_t last = r.out.rfind('\n');
    if (last == std::string::npos) return {0, r.out + r.err};
    return {std::stoi(r.out.substr(last + 1)), r.out.substr(0, last)};
  }
  test::CommandResult Ctl(const std::string& args) {
    return Sh(Quote(LIFEBOAT_CTL) + " --controller " + address_ + " --ca " +
              Quote(dir_ / "ca.pem") + " --token-file " + Quote(dir_ / "admin.token") + " " + args);
  }
  // The ids of a machine_list answer, and its next_page_token.
  static std::pair<std::vector<std::string>, std::string> Ids(const std::string& body) {
    auto json = test::Json(body);
    std::vector<std::string> ids;
    auto machines = json->getArray("machines");
    for (size_t i = 0; machines && i < machines->size(); ++i)
      ids.push_back(machines->getObject(i)->getValue<std::string>("id"));
    return {ids, json->getValue<std::string>("next_page_token")};
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::string address_, base_, admin_;
};

TEST_F(HttpApiTest, MachinesArePagedAndFilteredAsOverGrpcAndExportedAsCsv) {
  Register("pc-1", "one.corp", "1.0", 40'000'000, {{"site", "paris"}});
  Register("pc-2", "=cmd|' /C calc'!A0", "1.0", 600'000'000, {{"site", "paris"}});
  Register("pc-3", "three, with a comma", "", std::nullopt, {{"site", "lyon"}});
  Register("pc-4", "four.corp", "0.9", 10'000'000, {{"site", "paris"}, {"ring", "canary"}});
  Register("pc-5", "five.corp", "", std::nullopt, {});

  // Pages of two: every machine once, in id order, the total on each page.
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto [code, body] = Get("/api/v1/machines?page_size=2" +
                            (token.empty() ? std::string() : "&page_token=" + token));
    ASSERT_EQ(code, 200) << body;
    EXPECT_EQ(test::JsonShapeProblem(body, "machine_list"), "");
    EXPECT_EQ(test::Json(body)->getValue<int>("total_size"), 5);
    auto [ids, next] = Ids(body);
    EXPECT_LE(ids.size(), 2u);
    seen.insert(seen.end(), ids.begin(), ids.end());
    token = next;
  } while (!token.empty() && ++pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"pc-1", "pc-2", "pc-3", "pc-4", "pc-5"}));

  // Filters, alone and together.
  const std::vector<std::pair<std::string, std::vector<std::string>>> filters = {
      {"label=site%3Dparis", {"pc-1", "pc-2", "pc-4"}},
      {"label=site%3Dparis&label=ring%3Dcanary", {"pc-4"}},
      {"installed_version=1.0", {"pc-1", "pc-2"}},
      {"installed_version=", {"pc-3", "pc-5"}},
      {"version=0.9", {"pc-4"}},
      {"winre_free_below=250MB", {"pc-1", "pc-4"}},
      {"winre_free_below=250MB&label=site%3Dparis&installed_version=1.0", {"pc-1"}},
      {"state=idle", {"pc-1", "pc-2", "pc-3", "pc-4", "pc-5"}},
      {"offline=true", {}},
      {"offline=false&page_size=1000", {"pc-1", "pc-2", "pc-3", "pc-4", "pc-5"}},
  };
  for (const auto& [query, expected] : filters) {
    auto [code, body] = Get("/api/v1/machines?" + query);
    ASSERT_EQ(code, 200) << query << ": " << body;
    EXPECT_EQ(Ids(body).first, expected) << query;
    EXPECT_EQ(test::Json(body)->getValue<size_t>("total_size"), expected.size()) << query;
  }
  // The same through lifeboatctl (gRPC).
  auto listed = Ctl("machine list --label site=paris --winre-free-below 250MB --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(Ids(listed.out).first, (std::vector<std::string>{"pc-1", "pc-4"}));
  EXPECT_EQ(Ids(Ctl("machine list --installed none --json").out).first,
            (std::vector<std::string>{"pc-3", "pc-5"}));

  // Mistakes are refused, naming the parameter: never taken for "everything".
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"colour=red", "colour"},
           {"page_size=lots", "page_size"},
           {"page_token=zz", "page_token"},
           {"state=sleeping", "state"},
           {"offline=maybe", "offline"},
           {"label=nokey", "label"},
           {"winre_free_below=big", "winre_free_below"}}) {
    auto [code, body] = Get("/api/v1/machines?" + query);
    EXPECT_EQ(code, 400) << query << ": " << body;
    EXPECT_EQ(test::JsonShapeProblem(body, "error"), "");
    EXPECT_EQ(test::Json(body)->getObject("error")->getValue<std::string>("field"), field) << body;
  }
  // A token of the audit log is not one of the machine list's.
  const std::string audit_token =
      test::Json(Get("/api/v1/audit?page_size=1").second)->getValue<std::string>("next_page_token");
  ASSERT_FALSE(audit_token.empty());
  EXPECT_EQ(Get("/api/v1/machines?page_token=" + audit_token).first, 400);

  // CSV: every matching machine, read back by Python's csv module; formulas defused.
  auto csv =
      Sh("curl -sf -H " + Quote("Authorization: Bearer " + admin_) + " " + base_ +
         Quote("/api/v1/machines.csv?label=site%3Dparis") + " > " + Quote(dir_ / "machines.csv"));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  auto rows = Sh("python3 -c " +
                 Quote("import csv,sys\n"
                       "rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n"
                       "for r in rows: print(r['id'], r['hostname'], r['installed_version'], "
                       "r['state'], r['winre_free_bytes'], r['labels'], sep='|')") +
                 " " + Quote(dir_ / "machines.csv"));
  ASSERT_EQ(rows.exit_code, 0) << rows.err;
  EXPECT_EQ(rows.out,
            "pc-1|one.corp|1.0|idle|40000000|site=paris\n"
            "pc-2|'=cmd|' /C calc'!A0|1.0|idle|600000000|site=paris\n"
            "pc-4|four.corp|0.9|idle|10000000|ring=canary;site=paris\n");
  EXPECT_NE(Sh("grep -c '\"three, with a comma\"' " + Quote(dir_ / "machines.csv")).exit_code,
            0);  // not in this filter
  auto all_csv = Sh("curl -sf -H " + Quote("Authorization: Bearer " + admin_) + " " + base_ +
                    "/api/v1/machines.csv");
  EXPECT_NE(all_csv.out.find(",\"three, with a comma\","), std::string::npos) << all_csv.out;
  EXPECT_EQ(Get("/api/v1/machines.csv?page_size=1").first, 400);
}

TEST_F(HttpApiTest, EveryReadOfTheCliIsThereAndTheAuditLogIsForAdmins) {
  ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(dir_ / "v1.wim", ""));
  ASSERT_EQ(Ctl("image publish " + Quote(dir_ / "v1.wim") + " --version 1.0").exit_code, 0);
  Register("pc-1", "one.corp", "", std::nullopt, {});
  ASSERT_EQ(Ctl("rollout create --image 1.0 --all --allow-unsigned").exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> reads = {
      {"/api/v1/fleet", "fleet_summary"},
      {"/api/v1/images", "image_list"},
      {"/api/v1/images?include_retired=true", "image_list"},
      {"/api/v1/images/1.0", "image_show"},
      {"/api/v1/rollouts", "rollout_list"},
      {"/api/v1/rollouts/1", "rollout_show"},
      {"/api/v1/machines/pc-1", "machine_show"},
      {"/api/v1/audit", "audit_list"},
  };
  for (const auto& [path, shape] : reads) {
    auto [code, body] = Get(path);
    EXPECT_EQ(code, 200) << path << ": " << body;
    EXPECT_EQ(test::JsonShapeProblem(body, shape), "") << path;
  }
  EXPECT_EQ(test::Json(Get("/api/v1/fleet").second)->getValue<int>("machines"), 1);
  EXPECT_EQ(test::Json(Get("/api/v1/images").second)->getArray("images")->size(), 1u);
  EXPECT_EQ(Get("/api/v1/images/9.9").first, 404);
  EXPECT_EQ(Get("/api/v1/fleet?verbose=1").first, 400);
  EXPECT_EQ(Get("/api/v1/nothing").first, 404);

  // The audit log: paged newest first, filtered; an admin's read only.
  auto [code, body] = Get("/api/v1/audit?action=CreateRollout");
  ASSERT_EQ(code, 200) << body;
  auto entries = test::Json(body)->getArray("entries");
  ASSERT_EQ(entries->size(), 1u) << body;
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("target"), "image 1.0");
  std::vector<int> ids;
  std::string token;
  do {
    auto page = test::Json(Get("/api/v1/audit?page_size=1&outcome=ok" +
                               (token.empty() ? std::string() : "&page_token=" + token))
                               .second);
    for (size_t i = 0; i < page->getArray("entries")->size(); ++i)
      ids.push_back(page->getArray("entries")->getObject(i)->getValue<int>("id"));
    token = page->getValue<std::string>("next_page_token");
  } while (!token.empty() && ids.size() < 100);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend()));  // newest first
  EXPECT_EQ(std::set<int>(ids.begin(), ids.end()).size(), ids.size());
  auto cli = Ctl("audit list --action CreateRollout --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(test::Json(cli.out)->getArray("entries")->size(), 1u);

  // The metrics: the build, the machines' last contact, the open rollout keyed by its id alone
  // (its state a value), and the HTTP requests by path with their ids as {id}.
  auto metrics = Get("/metrics").second;
  for (const std::string line :
       {"lifeboat_build_info{version=\"", "lifeboat_machine_last_contact_seconds_count 1\n",
        "lifeboat_rollout_info{rollout=\"1\",job=\"install\",image=\"1.0\"} 1\n",
        "lifeboat_rollout_state{rollout=\"1\"} 0\n", "lifeboat_rollout_wave{rollout=\"1\"} 1\n",
        "lifeboat_rollout_machines{rollout=\"1\",outcome=\"pending\"} 1\n",
        "lifeboat_http_requests_total{path=\"/api/v1/images/{version}\",code=\"404\"} 1\n",
        "lifeboat_http_requests_total{path=\"/api/v1/machines/{id}\",code=\"200\"} 1\n",
        "lifeboat_http_duration_seconds_count{path=\"/api/v1/fleet\"} "})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << " in:\n" << metrics;
  // The server certificate's end as openssl reads it from the file the controller serves with.
  const auto end = Sh("date -d \"$(openssl x509 -noout -enddate -in " +
                      Quote(dir_ / "tls/server.pem") + " | cut -d= -f2)\" +%s");
  ASSERT_EQ(end.exit_code, 0) << end.err;
  EXPECT_NE(metrics.find("lifeboat_certificate_expiry_timestamp_seconds{certificate=\"server\"} " +
                         end.out),
            std::string::npos)
      << end.out << metrics;
  EXPECT_NE(metrics.find("lifeboat_certificate_expiry_timestamp_seconds{certificate=\"ca\"} "),
            std::string::npos);
  // The Grafana dashboard (packaging/) asks only for series the controller exports.
  const std::string dashboard =
      ReadAll(std::string(LIFEBOAT_SOURCE_DIR) + "/packaging/grafana-dashboard.json");
  ASSERT_NO_THROW(test::Json(dashboard));
  const std::regex metric_name("lifeboat_[a-z_]+");
  int names = 0;
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), metric_name);
       it != std::sregex_iterator(); ++it, ++names)
    EXPECT_NE(metrics.find("\n" + it->str()), std::string::npos) << it->str();
  EXPECT_GT(names, 10);
  ASSERT_EQ(Ctl("rollout pause 1").exit_code, 0);
  EXPECT_NE(Get("/metrics").second.find("lifeboat_rollout_state{rollout=\"1\"} 1\n"),
            std::string::npos);
  ASSERT_EQ(Ctl("rollout abort 1").exit_code, 0);
  EXPECT_EQ(Get("/metrics").second.find("rollout=\"1\""), std::string::npos);  // finished: gone

  auto viewer = Ctl("operator add helpdesk --role viewer --json");
  ASSERT_EQ(viewer.exit_code, 0) << viewer.err;
  const std::string viewer_token = test::Json(viewer.out)->getValue<std::string>("token");
  EXPECT_EQ(Get("/api/v1/machines", viewer_token).first, 200);
  auto refused = Get("/api/v1/audit", viewer_token);
  EXPECT_EQ(refused.first, 403) << refused.second;
  EXPECT_EQ(test::JsonShapeProblem(refused.second, "error"), "");
}

TEST_F(HttpApiTest, TheOpenApiDescriptionIsWhatTheControllerServes) {
  ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(dir_ / "v1.wim", ""));
  ASSERT_EQ(Ctl("image publish " + Quote(dir_ / "v1.wim") + " --version 1.0").exit_code, 0);
  Register("pc-1", "one.corp", "1.0", 40'000'000, {{"ring", "canary"}});
  ASSERT_EQ(Ctl("rollout create --image 1.0 --all --allow-unsigned").exit_code, 0);
  const std::string source = LIFEBOAT_SOURCE_DIR;
  auto checked =
      Sh(Quote(source + "/tests/support/check-openapi") + " " +
         Quote(source + "/docs/openapi.yaml") + " " + Quote(source + "/docs/json.schema.json") +
         " https://127.0.0.1:" + std::to_string(server_->http_port()) + " " +
         Quote(dir_ / "ca.pem") + " " + Quote(admin_));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

TEST(HttpApiFleet, LifeboatctlFollowsEveryPageOfALargeFleet) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(AddStoredMachines(dir.path(), 2500));
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  auto server = Server::Start(options);
  ASSERT_TRUE(server) << server.error().message;
  auto listed =
      Sh(Quote(LIFEBOAT_CTL) + " --controller 127.0.0.1:" + std::to_string((*server)->port()) +
         " --ca " + Quote(dir / "ca.pem") + " --token-file " + Quote(dir / "admin.token") +
         " machine list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto json = test::Json(listed.out);
  auto machines = json->getArray("machines");
  ASSERT_EQ(machines->size(), 2500u);  // three pages of at most 1000
  EXPECT_EQ(json->getValue<int>("total_size"), 2500);
  EXPECT_EQ(machines->getObject(0)->getValue<std::string>("id"), "bulk-00001");
  EXPECT_EQ(machines->getObject(2499)->getValue<std::string>("id"), "bulk-02500");
  EXPECT_TRUE(machines->getObject(1234)->getValue<bool>("offline"));  // silent since 2020
}

}  // namespace
}  // namespace lifeboat::controller
