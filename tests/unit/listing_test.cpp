// The API's listings: page sizes and tokens, the HTTP query strings read into requests, the
// machine list as CSV, and the store's pages of machines and of the audit log on a real SQLite
// file.
#include "controller/listing.h"

#include <gtest/gtest.h>

#include <set>

#include "controller/fleet_store.h"
#include "controller/http_query.h"
#include "controller/proto_convert.h"
#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

using test::TempDir;

TEST(Listing, PageSizesAreBoundedAndTokensBelongToTheirListing) {
  EXPECT_EQ(PageSize(0, 500, 1000), 500u);
  EXPECT_EQ(PageSize(7, 500, 1000), 7u);
  EXPECT_EQ(PageSize(5000, 500, 1000), 1000u);
  const std::string token = MakePageToken("machines", "pc-0042 with\na \"line\"");
  EXPECT_EQ(ReadPageToken("machines", token).value(), "pc-0042 with\na \"line\"");
  EXPECT_EQ(ReadPageToken("machines", "").value(), "");
  for (const std::string& bad :
       {MakePageToken("audit", "12"), std::string("zz"), std::string("abc"), token.substr(1)}) {
    auto read = ReadPageToken("machines", bad);
    ASSERT_FALSE(read) << bad;
    EXPECT_EQ(read.error().field, "page_token");
  }
}

TEST(HttpQuery, ParametersBecomeTheRequestGrpcTakesAndMistakesAreNamed) {
  auto machines = MachinesQuery({{"page_size", "20"},
                                 {"page_token", "abc"},
                                 {"installed_version", ""},
                                 {"state", "applying"},
                                 {"offline", "false"},
                                 {"label", "site=paris"},
                                 {"label", "ring=a=b"},
                                 {"winre_free_below", "250MB"}});
  ASSERT_TRUE(machines) << machines.error().message;
  EXPECT_EQ(machines->page_size(), 20u);
  EXPECT_EQ(machines->page_token(), "abc");
  EXPECT_TRUE(machines->has_installed_version());
  EXPECT_EQ(machines->installed_version(), "");
  EXPECT_EQ(machines->state(), v1::AGENT_STATE_APPLYING);
  EXPECT_TRUE(machines->has_offline());
  EXPECT_FALSE(machines->offline());
  EXPECT_EQ(machines->labels().at("site"), "paris");
  EXPECT_EQ(machines->labels().at("ring"), "a=b");
  EXPECT_EQ(machines->winre_free_below_bytes(), 250'000'000u);
  auto plain = MachinesQuery({});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_installed_version());
  EXPECT_FALSE(plain->has_offline());
  EXPECT_EQ(MachinesQuery({{"version", "2.0"}})->installed_version(), "2.0");
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"page_size", "-1"},
                                                        {"page_size", "99999999999"},
                                                        {"state", "unspecified"},
                                                        {"state", ""},
                                                        {"offline", "yes"},
                                                        {"label", "=x"},
                                                        {"winre_free_below", "-5"},
                                                        {"limit", "5"}}) {
    auto refused = MachinesQuery({{name, value}});
    ASSERT_FALSE(refused) << name << "=" << value;
    EXPECT_EQ(refused.error().field, name);
  }
  auto audit = AuditQuery({{"who", "alice"}, {"action", "CreateRollout"}, {"outcome", "ok"}});
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->who(), "alice");
  EXPECT_EQ(AuditQuery({{"label", "x=y"}}).error().field, "label");
  EXPECT_TRUE(ImagesQuery({{"include_retired", "true"}})->include_retired());
  EXPECT_FALSE(NoQuery({{"x", "1"}}));
  EXPECT_TRUE(NoQuery({}));
}

// The body of a boot-recovery POST: nothing (the machine's own partition), or the network's
// fields; anything else is refused naming it.
TEST(HttpQuery, ABootRecoveryBodyIsEmptyOrTheNetworksFields) {
  auto local = BootRecoveryBody("pc-1", " \n");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->machine_id(), "pc-1");
  EXPECT_FALSE(local->network());
  auto network = BootRecoveryBody("pc-1", R"({"network": true, "version": "2.0", "iso": true})");
  ASSERT_TRUE(network);
  EXPECT_TRUE(network->network());
  EXPECT_EQ(network->version(), "2.0");
  EXPECT_TRUE(network->iso());
  EXPECT_FALSE(BootRecoveryBody("pc-1", R"({"network": false})")->network());
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {"[1]", "body"},
           {"{", "body"},
           {R"({"network": "yes"})", "network"},
           {R"({"version": 2})", "version"},
           {R"({"disk": "/dev/sda"})", "disk"},
           {R"({"version": "2.0"})", "network"},  // a version without network means nothing
       }) {
    auto refused = BootRecoveryBody("pc-1", body);
    ASSERT_FALSE(refused) << body;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << body;
    EXPECT_EQ(refused.error().field, field) << body << ": " << refused.error().message;
  }
  EXPECT_EQ(RolloutMachinesQuery(3, {{"page_size", "2"}})->page_size(), 2u);
  EXPECT_EQ(RolloutMachinesQuery(3, {{"state", "failed"}}).error().field, "state");
}

TEST(HttpQuery, CsvCellsAreQuotedAndFormulasDefused) {
  v1::Machine m;
  m.set_id("pc-1");
  m.set_hostname("say \"hi\", twice");
  m.set_installed_version("+1");
  m.set_state(v1::AGENT_STATE_IDLE);
  m.set_last_seen("2026-12-03T00:00:00Z");
  (*m.mutable_labels())["b"] = "2";
  (*m.mutable_labels())["a"] = "@1";
  EXPECT_EQ(MachineCsvLine(m),
            "pc-1,\"say \"\"hi\"\", twice\",'+1,idle,false,2026-12-03T00:00:00Z,0,,a=@1;b=2\r\n");
  m.set_hostname("-x\ny");
  EXPECT_EQ(MachineCsvLine(m).substr(0, 13), "pc-1,\"'-x\ny\",");
  EXPECT_EQ(MachinesCsvHeader().substr(0, 12), "id,hostname,");
}

class ListingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = FleetStore::OpenSqlite(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void Add(const std::string& id, const std::string& version, std::optional<uint64_t> free,
           std::map<std::string, std::string> labels) {
    MachineRecord m;
    m.id = id;
    m.hostname = id;
    m.labels = std::move(labels);
    m.installed_version = version;
    v1::Inventory inventory;
    if (free) inventory.set_winre_free_bytes(*free);
    m.inventory = InventoryToText(inventory);
    ASSERT_TRUE(store_->RegisterMachine(m));
  }
  std::vector<std::string> Ids(const MachineFilter& filter) {
    auto page = store_->FindMachines(filter, "9999", "", 0);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& m : page->machines) ids.push_back(m.id);
    EXPECT_EQ(page->total, ids.size());
    return ids;
  }
  TempDir dir_;
  std::unique_ptr<FleetStore> store_;
};

TEST_F(ListingStoreTest, MachinePagesFollowOneAnotherAndFiltersCombine) {
  Add("c", "1.0", 10, {{"site", "paris"}});
  Add("a", "1.0", 300'000'000, {{"site", "paris"}, {"ring", "canary"}});
  Add("e", "", std::nullopt, {{"site", "lyon"}});
  Add("b", "0.9", 0, {});
  Add("d", "1.0", std::nullopt, {{"site", "paris"}});
  std::vector<std::string> seen;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    auto page = store_->FindMachines({}, "", after, 2);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->total, 5u);
    for (const auto& m : page->machines) seen.push_back(m.id);
    if (!page->more) break;
    after = page->machines.back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  // Labels are read for the page's machines, and each keeps its own.
  auto page = store_->FindMachines({}, "", "b", 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->machines.size(), 2u);
  EXPECT_EQ(page->machines[0].labels, (std::map<std::string, std::string>{{"site", "paris"}}));

  MachineFilter paris;
  paris.labels = {{"site", "paris"}};
  EXPECT_EQ(Ids(paris), (std::vector<std::string>{"a", "c", "d"}));
  MachineFilter short_of_room;
  short_of_room.winre_free_below_bytes = 250'000'000;
  EXPECT_EQ(Ids(short_of_room), (std::vector<std::string>{"b", "c"}));  // known, and below
  MachineFilter nothing_installed;
  nothing_installed.installed_version = "";
  EXPECT_EQ(Ids(nothing_installed), (std::vector<std::string>{"e"}));
  MachineFilter combined = paris;
  combined.installed_version = "1.0";
  combined.winre_free_below_bytes = 250'000'000;
  EXPECT_EQ(Ids(combined), (std::vector<std::string>{"c"}));
  MachineFilter applying;
  applying.state = AgentState::kApplying;
  EXPECT_EQ(Ids(applying), std::vector<std::string>{});
  // Offline: last seen before the cutoff (all were seen "now", before the year 9999).
  MachineFilter offline;
  offline.offline = true;
  EXPECT_EQ(Ids(offline).size(), 5u);
  offline.offline = false;
  EXPECT_EQ(Ids(offline).size(), 0u);
}

TEST_F(ListingStoreTest, TheAuditLogIsPagedNewestFirstAndFiltered) {
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(store_->access().AddAudit({0, "", i % 2 ? "alice" : "bob",
                                           i < 5 ? "CreateRollout" : "Enroll", "t",
                                           i == 3 ? "denied" : "ok", "", "peer"}));
  std::vector<uint64_t> ids;
  uint64_t before = 0;
  for (int i = 0; i < 10; ++i) {
    auto page = store_->access().AuditLog({}, before, 3);
    ASSERT_TRUE(page);
    for (const auto& e : page->entries) ids.push_back(e.id);
    if (!page->more) break;
    before = page->entries.back().id;
  }
  EXPECT_EQ(ids, (std::vector<uint64_t>{7, 6, 5, 4, 3, 2, 1}));
  auto alice = store_->access().AuditLog({"alice", "CreateRollout", ""}, 0, 100);
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice->entries.size(), 2u);  // entries 2 and 4 (i = 1, 3)
  EXPECT_EQ(alice->entries[0].id, 4u);
  auto denied = store_->access().AuditLog({"", "", "denied"}, 0, 100);
  ASSERT_EQ(denied->entries.size(), 1u);
  EXPECT_EQ(denied->entries[0].outcome, "denied");
  EXPECT_FALSE(denied->more);
}

}  // namespace
}  // namespace lifeboat::controller
