// lifeboatctl against a real lifeboat-controller process; the controller killed with SIGKILL in
// the middle of a rollout and restarted on its data: every acknowledged change is still there.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "lifeboat/v1/agent_service.grpc.pb.h"
#include "tests/e2e/controller_process.h"
#include "tests/support/grpc_support.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// Runs every lifeboatctl command that prints JSON against `controller` (a fleet with an image, a
// rollout and machines with attempts) and judges each output with docs/json.schema.json.
void ExpectEveryJsonOutputHasItsShape(const ControllerProcess& controller,
                                      const std::string& rollout_id) {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"image list", "image_list"},
      {"image show 1.0", "image_show"},
      {"rollout list", "rollout_list"},
      {"rollout show " + rollout_id, "rollout_show"},
      {"rollout machines " + rollout_id, "rollout_machines"},
      {"rollout pause " + rollout_id, "rollout_show"},
      {"rollout resume " + rollout_id, "rollout_show"},
      {"machine list", "machine_list"},
      {"machine show pc0", "machine_show"},
      {"machine show pc5", "machine_show"},
      {"machine boot-recovery pc1", "boot_recovery"},
      {"operator add shape-viewer --role viewer", "operator_create"},
      {"operator list", "operator_list"},
      {"audit list", "audit_list"},
      {"token create", "enrollment_token"},
      {"token create --uses 20 --label site=lyon", "enrollment_token"},
      {"token list", "enrollment_token_list"},
      {"fleet summary", "fleet_summary"},
      {"machine label pc5 owner=it --remove site", "machine_label"},
      {"machine delete nobody", "error"},
      // Failures: the one error shape, with the field a malformed request names.
      {"rollout show 42", "error"},
      {"machine show 'not a name'", "error"},
      {"image show 1.0/../x", "error"},   // CLI11 refuses it: still JSON
      {"image list --waves 5", "error"},  // an option image list does not take
      {"rollout create --image 1.0 --all --waves abc", "error"},
  };
  for (const auto& [command, shape] : commands) {
    auto r = Ctl(controller, command + " --json");
    EXPECT_EQ(JsonShapeProblem(r.out, shape), "") << command << "\n" << r.err;
    EXPECT_EQ(r.exit_code == 0, shape != "error") << command;
  }
  auto missing = Json(Ctl(controller, "rollout show 42 --json").out)->getObject("error");
  EXPECT_EQ(missing->getValue<std::string>("code"), "not_found");
  auto refused = Json(Ctl(controller, "rollout create --image 1.0 --all --json").out);
  EXPECT_EQ(
      JsonShapeProblem(Ctl(controller, "rollout create --image 1.0 --all --json").out, "error"),
      "");
  // The controller's word for a request the state forbids (an unsigned image here).
  EXPECT_EQ(refused->getObject("error")->getValue<std::string>("code"), "conflict");
  // Waves count from 1 in JSON, as on screen.
  auto rollout =
      Json(Ctl(controller, "rollout show " + rollout_id + " --json").out)->getObject("rollout");
  EXPECT_GE(rollout->getObject("progress")->getValue<int>("current_wave"), 1);
}

class CtlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wims_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(*wims_ / "a.wim", "--size-mb 12"));
  }
  static void TearDownTestSuite() { delete wims_; }
  static TempDir* wims_;
  TempDir dir_;
};
TempDir* CtlTest::wims_ = nullptr;

TEST_F(CtlTest, OperatorCommandsAndTheirExitCodes) {
  ControllerProcess controller(dir_ / "controller");
  ASSERT_GT(controller.port(), 0);
  auto published = Ctl(controller, "image publish " + Quote(*wims_ / "a.wim") + " --version 1.0");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_NE(published.out.find("published 1.0"), std::string::npos);
  EXPECT_NE(published.err.find("100%"), std::string::npos);  // the progress bar
  auto list = Ctl(controller, "image list --json");
  ASSERT_EQ(list.exit_code, 0);
  auto images = Json(list.out)->getArray("images");
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ(images->getObject(0)->getValue<std::string>("version"), "1.0");
  auto table = Ctl(controller, "image list");
  EXPECT_NE(table.out.find("VERSION"), std::string::npos);

  // Publishing the same file again changes nothing and says so (configuration management
  // repeats it); a version names one image, so other bytes are refused.
  auto again = Ctl(controller, "image publish " + Quote(*wims_ / "a.wim") + " --version 1.0");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged: already published 1.0"), std::string::npos) << again.out;
  ASSERT_EQ(Sh("cp " + Quote(*wims_ / "a.wim") + " " + Quote(dir_ / "a2.wim") + " && printf x >> " +
               Quote(dir_ / "a2.wim"))
                .exit_code,
            0);
  EXPECT_EQ(Ctl(controller, "image publish " + Quote(dir_ / "a2.wim") + " --version 1.0").exit_code,
            3);
  EXPECT_EQ(Ctl(controller, "image show 9.9").exit_code, 5);
  // Issue 12, item 10: errors name the user's input, not the server's temporary upload file.
  ASSERT_EQ(Sh("head -c 300000 /dev/urandom > " + Quote(dir_ / "junk.wim")).exit_code, 0);
  auto junk = Ctl(controller, "image publish " + Quote(dir_ / "junk.wim") + " --version 9.0");
  EXPECT_EQ(junk.exit_code, 2) << junk.err;
  EXPECT_NE(junk.err.find(dir_ / "junk.wim"), std::string::npos) << junk.err;
  EXPECT_NE(junk.err.find("version 9.0"), std::string::npos) << junk.err;
  EXPECT_EQ(junk.err.find("uploads/"), std::string::npos) << junk.err;
  auto long_version = Ctl(controller, "image publish " + Quote(*wims_ / "a.wim") + " --version " +
                                          std::string(100000, 'v'));
  EXPECT_EQ(long_version.exit_code, 2) << long_version.err;
  EXPECT_NE(long_version.err.find("--version: 'vvvv"), std::string::npos) << long_version.err;
  EXPECT_NE(long_version.err.find("(100000 characters)"), std::string::npos) << long_version.err;
  EXPECT_LT(long_version.err.size(), 1000u);
  EXPECT_EQ(Ctl(controller, "rollout create --image 1.0 --all --waves 50%,10%").exit_code, 2);
  EXPECT_EQ(Ctl(controller, "rollout create --image 1.0 --all --waves abc").exit_code, 2);
  EXPECT_EQ(Ctl(controller, "rollout show 42").exit_code, 5);
  // Issue 12, item 11: an error whose message holds a newline, a quote, a backslash and a control
  // character is still valid JSON (the escaping was by hand, of two characters).
  auto odd = Ctl(controller, "machine show $'pc\\n\"1\\\\\\t\\x01' --json");
  EXPECT_EQ(odd.exit_code, 5) << odd.err;
  Poco::JSON::Object::Ptr parsed;
  ASSERT_NO_THROW(parsed = Json(odd.out)) << odd.out;
  EXPECT_NE(parsed->getObject("error")->getValue<std::string>("message").find("pc\n\"1\\\t\x01"),
            std::string::npos)
      << odd.out;
  EXPECT_EQ(Ctl(controller, "rollout frobnicate 1").exit_code, 2);
  // No machine yet: a rollout has nothing to target.
  EXPECT_EQ(Ctl(controller, "rollout create --image 1.0 --all").exit_code, 3);
  auto summary = Ctl(controller, "fleet summary --json");
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_EQ(Json(summary.out)->getValue<int>("machines"), 0);
  controller.Kill();
  EXPECT_EQ(Ctl(controller, "fleet summary").exit_code, 4);  // unreachable
}

// Roles: every call needs a token; a viewer reads, an operator runs rollouts, an admin does the
// rest. Refusals exit 6, name the role, and change nothing. HTTP follows the same rules.
TEST_F(CtlTest, EachRoleMayDoItsOwnWorkAndNothingMore) {
  ControllerProcess controller(dir_ / "controller");
  ASSERT_GT(controller.port(), 0);
  EXPECT_EQ(Sh("stat -c %a " + Quote(controller.data_dir() + "/admin.token")).out, "600\n");
  const std::string base = Quote(LIFEBOAT_CTL) + " --controller " + controller.address() +
                           " --ca " + Quote(controller.data_dir() + "/ca.pem") + " ";
  auto as = [&](const std::string& token, const std::string& args) {
    return Sh("LIFEBOAT_TOKEN=" + Quote(token) + " " + base + args);
  };
  // A plaintext client is refused in the TLS handshake, and the controller logs it.
  Sh("curl -s --max-time 5 http://" + controller.address() + "/ > /dev/null");
  EXPECT_NE(controller.Log().find("refused connection: Security handshake failed"),
            std::string::npos)
      << controller.Log();
  // No token, and a token nobody was given.
  auto anonymous = Sh(base + "image list");
  EXPECT_EQ(anonymous.exit_code, 6);
  EXPECT_NE(anonymous.err.find("no operator token"), std::string::npos) << anonymous.err;
  EXPECT_EQ(as("lbo_" + std::string(64, '0'), "image list").exit_code, 6);

  auto made = [&](const std::string& name, const std::string& role) {
    auto r = Ctl(controller, "operator add " + name + " --role " + role + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json(r.out)->getValue<std::string>("token");
  };
  const std::string viewer = made("helpdesk", "viewer"), op = made("deskeng", "operator");
  EXPECT_EQ(Ctl(controller, "operator add helpdesk --role viewer").exit_code, 3);  // exists
  EXPECT_EQ(Ctl(controller, "operator add x --role superuser").exit_code, 2);

  ASSERT_EQ(
      Ctl(controller, "image publish " + Quote(*wims_ / "a.wim") + " --version 1.0").exit_code, 0);
  // The viewer reads, and may not roll out, publish or manage operators.
  EXPECT_EQ(as(viewer, "image list").exit_code, 0);
  EXPECT_EQ(as(viewer, "fleet summary").exit_code, 0);
  auto refused = as(viewer, "rollout create --image 1.0 --all");
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_NE(refused.err.find("operator helpdesk is a viewer; this needs the operator role"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(as(viewer, "image retire 1.0").exit_code, 6);
  EXPECT_EQ(as(viewer, "operator add mallory --role admin").exit_code, 6);
  // The operator may not publish or manage operators either.
  EXPECT_EQ(as(op, "image publish " + Quote(*wims_ / "a.wim") + " --version 2.0").exit_code, 6);
  EXPECT_EQ(as(op, "operator list").exit_code, 6);
  // Nothing of that happened.
  EXPECT_EQ(Json(Ctl(controller, "rollout list --json").out)->getArray("rollouts")->size(), 0u);
  EXPECT_EQ(Json(Ctl(controller, "image list --json").out)->getArray("images")->size(), 1u);
  auto operators = Ctl(controller, "operator list --json");
  EXPECT_EQ(Json(operators.out)->getArray("operators")->size(), 3u) << operators.out;
  // A removed operator's token stops working.
  ASSERT_EQ(Ctl(controller, "operator remove helpdesk").exit_code, 0);
  EXPECT_EQ(as(viewer, "image list").exit_code, 6);

  // The audit log has the changes and the refusals: who, what, outcome, from where.
  EXPECT_EQ(as(op, "audit list").exit_code, 6);  // admins only
  auto audit = Ctl(controller, "audit list --json");
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::string lines;
  auto entries = Json(audit.out)->getArray("entries");
  for (size_t i = 0; i < entries->size(); ++i) {
    auto e = entries->getObject(i);
    lines += e->getValue<std::string>("who") + "|" + e->getValue<std::string>("action") + "|" +
             e->getValue<std::string>("target") + "|" + e->getValue<std::string>("outcome") + "|" +
             e->getValue<std::string>("peer").substr(0, 15) + "\n";
  }
  for (const char* expected :
       {"admin|CreateOperator|operator helpdesk (viewer)|ok|ipv4:127.0.0.1:",
        "admin|PublishImage|1.0|ok|",
        "helpdesk|CreateRollout||denied|ipv4:127.0.0.1:", "deskeng|PublishImage||denied|",
        "|ListImages||denied|", "admin|RemoveOperator|operator helpdesk|ok|",
        "admin|CreateOperator|operator helpdesk (viewer)|failed|", "deskeng|ListAudit||denied|"})
    EXPECT_NE(lines.find(expected), std::string::npos) << expected << "\n" << lines;
}

TEST_F(CtlTest, KilledControllerRestartsWithEveryAcknowledgedChange) {
  ControllerProcess controller(dir_ / "controller");
  ASSERT_EQ(
      Ctl(controller, "image publish " + Quote(*wims_ / "a.wim") + " --version 1.0").exit_code, 0);
  // Six enrolled machines, each with its own certificate (which stays valid across the restart).
  std::map<std::string, KeyAndCertificate> identities;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "pc" + std::to_string(i);
    identities[id] = EnrollAgent(controller.address(), controller.data_dir(), id);
    ASSERT_FALSE(identities[id].certificate_pem.empty()) << id;
  }
  auto agent = [&](const std::string& id) {
    return v1::AgentService::NewStub(
        AgentChannel(controller.address(), controller.data_dir(), identities[id]));
  };
  // A heartbeat with nothing to report, as the machine's own agent.
  auto heartbeat = [&](const std::string& id) {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id(id);
    v1::HeartbeatResponse beat;
    EXPECT_TRUE(agent(id)->Heartbeat(&context, request, &beat).ok()) << id;
    return beat;
  };
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id("pc" + std::to_string(i));
    request.set_hostname("pc" + std::to_string(i));
    v1::RegisterResponse response;
    ASSERT_TRUE(agent(request.machine_id())->Register(&context, request, &response).ok());
  }
  // Unsigned images are refused unless asked for explicitly (agents would refuse them).
  auto unsigned_refused = Ctl(controller, "rollout create --image 1.0 --all");
  EXPECT_EQ(unsigned_refused.exit_code, 3) << unsigned_refused.err;
  EXPECT_NE(unsigned_refused.err.find("not signed"), std::string::npos) << unsigned_refused.err;
  auto created =
      Ctl(controller, "rollout create --image 1.0 --all --waves 50%,100% --allow-unsigned --json");
  ASSERT_EQ(created.exit_code, 0) << created.err << created.out;
  const auto rollout_id =
      std::to_string(Json(created.out)->getObject("rollout")->getValue<uint64_t>("id"));
  // Every machine calls in; the first wave's three get work, finish it and report; each report
  // is acknowledged.
  std::vector<std::pair<std::string, uint64_t>> given;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "pc" + std::to_string(i);
    const v1::HeartbeatResponse beat = heartbeat(id);
    if (beat.has_assignment()) given.emplace_back(id, beat.assignment().attempt_id());
  }
  int finished = 0;
  for (const auto& [machine, attempt] : given) {
    grpc::ClientContext report_context;
    v1::ReportProgressRequest report;
    report.set_machine_id(machine);
    report.set_attempt_id(attempt);
    auto* e = report.add_events();
    e->set_sequence(1);
    e->set_step("done");
    e->set_status(v1::StepEvent::STATUS_SUCCEEDED);
    v1::ReportProgressResponse ack;
    ASSERT_TRUE(agent(machine)->ReportProgress(&report_context, report, &ack).ok());
    EXPECT_EQ(ack.acknowledged_sequence(), 1u);
    ++finished;
  }
  EXPECT_EQ(finished, 3);
  {
    // A heartbeat is soft state, answered once queued and committed with the next batch
    // (heartbeat_batcher.h); once shown to anyone it is in the store, and kept.
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_machine_id("pc5");
    request.set_state(v1::AGENT_STATE_APPLYING);
    request.set_current_step("write-image");
    v1::HeartbeatResponse beat;
    ASSERT_TRUE(agent(request.machine_id())->Heartbeat(&context, request, &beat).ok());
    auto seen = Json(Ctl(controller, "machine show pc5 --json").out)->getObject("machine");
    EXPECT_EQ(seen->getValue<std::string>("current_step"), "write-image");
  }
  controller.Kill();  // SIGKILL: no chance to flush anything
  controller.Start();
  ASSERT_GT(controller.port(), 0);
  auto shown = Ctl(controller, "rollout show " + rollout_id + " --json");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto progress = Json(shown.out)->getObject("rollout")->getObject("progress");
  EXPECT_EQ(progress->getValue<int>("succeeded"), 3);
  EXPECT_EQ(progress->getValue<int>("targeted"), 6);
  auto machines = Json(Ctl(controller, "machine list --json").out)->getArray("machines");
  EXPECT_EQ(machines->size(), 6u);
  auto pc5 = Json(Ctl(controller, "machine show pc5 --json").out)->getObject("machine");
  EXPECT_EQ(pc5->getValue<std::string>("state"), "applying");
  EXPECT_EQ(pc5->getValue<std::string>("current_step"), "write-image");
  auto images = Json(Ctl(controller, "image list --json").out)->getArray("images");
  EXPECT_EQ(images->size(), 1u);
  // And the rollout carries on where it was: the second wave is handed out.
  int assigned = 0;
  for (int i = 0; i < 6; ++i) {
    const v1::HeartbeatResponse beat = heartbeat("pc" + std::to_string(i));
    assigned += beat.has_assignment();
  }
  EXPECT_EQ(assigned, 3);
  auto history = Ctl(controller, "machine show pc0");
  EXPECT_EQ(history.exit_code, 0) << history.err;
  // For people: attempts numbered per machine, steps as words, labels, a pending request. A
  // machine of the first wave has reported its steps.
  ASSERT_FALSE(given.empty());
  history = Ctl(controller, "machine show " + given[0].first);
  EXPECT_NE(history.out.find("\nattempt 1 (rollout "), std::string::npos) << history.out;
  EXPECT_NE(history.out.find(" succeeded"), std::string::npos) << history.out;
  EXPECT_EQ(history.out.find("STATUS_"), std::string::npos) << history.out;
  EXPECT_EQ(history.out.find("requested"), std::string::npos) << history.out;
  ASSERT_EQ(Ctl(controller, "machine boot-recovery " + given[0].first).exit_code, 0);
  auto requested = Ctl(controller, "machine show " + given[0].first);
  EXPECT_NE(requested.out.find("requested  boot into Lifeboat once"), std::string::npos)
      << requested.out;
  auto list = Ctl(controller, "machine list");
  EXPECT_NE(list.out.find("LABELS"), std::string::npos) << list.out;
  // This fleet has a record of every kind: every JSON output is judged here.
  ExpectEveryJsonOutputHasItsShape(controller, rollout_id);
}

TEST(CtlKeys, GenerateWritesAKeyPairOpensslReadsAndNeverOverwrites) {
  TempDir dir;
  const std::string prefix = dir / "signer";
  auto made = Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(prefix) + " --json");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(Json(made.out)->getValue<std::string>("key_id").size(), 16u) << made.out;
  // openssl reads both halves, and they belong together.
  auto pub = Sh("openssl pkey -in " + Quote(prefix + ".key") + " -pubout");
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_EQ(pub.out, Sh("cat " + Quote(prefix + ".pub")).out);
  EXPECT_EQ(Sh("stat -c %a " + Quote(prefix + ".key")).out, "600\n");
  // A second run must not replace the key: exit 1, files unchanged.
  const std::string before = Sh("sha256sum " + Quote(prefix + ".key")).out;
  auto again = Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(prefix));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("never replaced"), std::string::npos) << again.err;
  EXPECT_EQ(Sh("sha256sum " + Quote(prefix + ".key")).out, before);
  EXPECT_EQ(Sh(Quote(LIFEBOAT_CTL) + " key generate").exit_code, 2);
}

}  // namespace
}  // namespace lifeboat::test

namespace lifeboat::test {
namespace {

// A built image travels with its manifest: published and signed, `image show` lists what end
// users can reach; the signed statement names its expiry and the SHA-256 of \Lifeboat\build.json
// (read back with wimlib-imagex and sha256sum); an expired image is not signed, not rolled out and
// not installed.
TEST_F(CtlTest, ABuiltImageIsPublishedWithItsContentsSignedAndItsExpiryEnforced) {
  const std::string src = dir_ / "recipe";
  ASSERT_EQ(
      Sh(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-recipe-inputs " + Quote(src))
          .exit_code,
      0);
  auto built = Sh(Quote(LIFEBOAT_CTL) + " image build " + Quote(src + "/recipe.yaml") + " --out " +
                  Quote(dir_ / "contoso.wim"));
  ASSERT_EQ(built.exit_code, 0) << built.err;
  ASSERT_EQ(Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(dir_ / "signer")).exit_code, 0);
  ControllerProcess controller(dir_ / "data");
  auto published =
      Ctl(controller, "image publish " + Quote(dir_ / "contoso.wim") +
                          " --version 10.0.3 --sign-key " + Quote(dir_ / "signer.key"));
  ASSERT_EQ(published.exit_code, 0) << published.err;

  auto show = Ctl(controller, "image show 10.0.3");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  for (const char* line :
       {"  expires       2027-06-30\n", "  start-up      X:\\Windows\\System32\\erdc.exe\n",
        "  tools         5\n", "    \\Windows\\System32\\erdc.exe\n",
        "    \\Autoruns\\Autoruns64.exe\n", "  drivers       2\n",
        "    \\Drivers\\net\\e1d68x64.inf (Net, x64)\n",
        "    \\Drivers\\storage\\iaStorAC.inf (SCSIAdapter, x64,x86)\n",
        "    \\Windows\\System32\\DartConfig.dat\n",
        "    \\Symbols\\ntkrnlmp.pdb\\0123ABCD1\\ntkrnlmp.pdb\n"})
    EXPECT_NE(show.out.find(line), std::string::npos) << line << "\nin:\n" << show.out;
  EXPECT_EQ(show.out.find("ProcessMonitor"), std::string::npos) << "not taken, not listed";
  auto json = Ctl(controller, "image show 10.0.3 --json");
  EXPECT_EQ(JsonShapeProblem(json.out, "image_show"), "");
  auto image = Json(json.out)->getObject("image");
  ASSERT_EQ(Sh("wimlib-imagex extract " + Quote(dir_ / "contoso.wim") +
               " 1 /Lifeboat/build.json --dest-dir=" + Quote(dir_ / "x"))
                .exit_code,
            0);
  const std::string contents_sha =
      Sh("sha256sum " + Quote(dir_ / "x/build.json") + " | cut -c1-64").out.substr(0, 64);
  EXPECT_EQ(image->getObject("contents")->getValue<std::string>("contents_sha256"), contents_sha);
  const std::string statement = image->getObject("signature")->getValue<std::string>("manifest");
  EXPECT_NE(statement.find("\nexpires: 2027-06-30\ncontents-sha256: " + contents_sha + "\n"),
            std::string::npos)
      << statement;
  EXPECT_NE(Ctl(controller, "image list").out.find("2027-06-30"), std::string::npos);

  // The same recipe, expired.
  ASSERT_EQ(
      Sh("sed -i 's/^expires: .*/expires: 2020-01-31/' " + Quote(src + "/recipe.yaml")).exit_code,
      0);
  built = Sh(Quote(LIFEBOAT_CTL) + " image build " + Quote(src + "/recipe.yaml") + " --out " +
             Quote(dir_ / "old.wim"));
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto signing = Ctl(controller, "image publish " + Quote(dir_ / "old.wim") +
                                     " --version 9.0 --sign-key " + Quote(dir_ / "signer.key"));
  EXPECT_EQ(signing.exit_code, 2);
  EXPECT_NE(signing.err.find("expired on 2020-01-31"), std::string::npos) << signing.err;
  ASSERT_EQ(
      Ctl(controller, "image publish " + Quote(dir_ / "old.wim") + " --version 9.0").exit_code, 0);
  EXPECT_NE(
      Ctl(controller, "image show 9.0").out.find("2020-01-31 (expired: no rollout may use it)"),
      std::string::npos);
  auto rollout = Ctl(controller, "rollout create --image 9.0 --all --allow-unsigned");
  EXPECT_EQ(rollout.exit_code, 3) << rollout.out << rollout.err;
  EXPECT_NE(rollout.err.find("expired on 2020-01-31"), std::string::npos) << rollout.err;
  // The agent refuses it before it looks at any disk.
  auto apply = Agent({"apply", "/nonexistent-disk", "--image", dir_ / "old.wim", "--version", "9.0",
                      "--dry-run", "--json", "--state-dir", dir_ / "state"});
  EXPECT_EQ(apply.exit_code, 3) << apply.out << apply.err;
  EXPECT_NE(apply.out.find("\"reason\": \"image-expired\""), std::string::npos) << apply.out;
  // Nor does it make boot media of it.
  for (const char* kind : {"iso", "usb"}) {
    const std::string target = dir_ / (std::string("old.") + kind);
    auto media =
        Agent({"media", kind, target, "--image", dir_ / "old.wim", "--version", "9.0", "--json"});
    EXPECT_EQ(media.exit_code, 3) << media.out << media.err;
    EXPECT_NE(media.out.find("\"reason\": \"image-expired\""), std::string::npos) << media.out;
    EXPECT_FALSE(std::filesystem::exists(target)) << target;
  }
}

// lifeboatctl media: the version is fetched from a real controller, and only an image signed by a
// key the operator trusts becomes a medium; the download is an operator's act, in the audit log.
TEST_F(CtlTest, AMediumIsMadeOnlyFromAPublishedImageATrustedKeySigned) {
  const std::string standins = dir_ / "standins", wim = dir_ / "media.wim";
  ASSERT_EQ(Sh(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-media-standins " +
               Quote(standins))
                .exit_code,
            0);
  ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(wim, "--overlay " + Quote(standins)));
  for (const char* key : {"signer", "stranger"})
    ASSERT_EQ(Sh(Quote(LIFEBOAT_CTL) + " key generate --out " + Quote(dir_ / key)).exit_code, 0);
  ControllerProcess controller(dir_ / "data");
  ASSERT_EQ(Ctl(controller, "image publish " + Quote(wim) + " --version 2.0 --sign-key " +
                                Quote(dir_ / "signer.key"))
                .exit_code,
            0);
  ASSERT_EQ(Ctl(controller, "image publish " + Quote(wim) + " --version 2.1").exit_code, 0);
  const std::string trust = " --trusted-key " + Quote(dir_ / "signer.pub");

  auto iso =
      Ctl(controller, "media iso " + Quote(dir_ / "out.iso") + " --image 2.0" + trust + " --json");
  ASSERT_EQ(iso.exit_code, 0) << iso.err;
  auto report = Json(iso.out);
  EXPECT_EQ(report->getValue<std::string>("kind"), "iso");
  EXPECT_EQ(report->getArray("firmware")->size(), 2u);
  EXPECT_EQ(report->getValue<std::string>("sha256"),
            Sh("sha256sum " + Quote(wim) + " | cut -c1-64").out.substr(0, 64));
  auto catalog = Sh("xorriso -indev " + Quote(dir_ / "out.iso") + " -report_el_torito plain");
  EXPECT_NE(catalog.out.find("/boot/etfsboot.com"), std::string::npos) << catalog.out;
  EXPECT_NE(catalog.out.find("/efi/microsoft/boot/efisys.bin"), std::string::npos) << catalog.out;
  ASSERT_EQ(Sh("osirrox -indev " + Quote(dir_ / "out.iso") + " -extract /sources/boot.wim " +
               Quote(dir_ / "from-iso.wim"))
                .exit_code,
            0);
  EXPECT_EQ(Sh("cmp " + Quote(wim) + " " + Quote(dir_ / "from-iso.wim")).exit_code, 0);

  auto usb = Ctl(controller, "media usb " + Quote(dir_ / "usb.img") + " --image 2.0" + trust);
  ASSERT_EQ(usb.exit_code, 0) << usb.err;
  EXPECT_NE(usb.out.find("read back and verified"), std::string::npos) << usb.out;
  ASSERT_EQ(Sh("mcopy -n -i " + Quote(dir_ / "usb.img") + "@@1M ::/sources/boot.wim " +
               Quote(dir_ / "from-usb.wim"))
                .exit_code,
            0);
  EXPECT_EQ(Sh("cmp " + Quote(wim) + " " + Quote(dir_ / "from-usb.wim")).exit_code, 0);

  // Signed by a key this operator does not trust, and not signed at all: refused before any
  // byte is fetched, and no medium appears.
  auto stranger = Ctl(controller, "media iso " + Quote(dir_ / "bad.iso") +
                                      " --image 2.0 --trusted-key " + Quote(dir_ / "stranger.pub"));
  EXPECT_EQ(stranger.exit_code, 3);
  EXPECT_NE(stranger.err.find("not among the keys given with --trusted-key"), std::string::npos)
      << stranger.err;
  auto unsigned_image =
      Ctl(controller, "media usb " + Quote(dir_ / "bad.img") + " --image 2.1" + trust);
  EXPECT_EQ(unsigned_image.exit_code, 3);
  EXPECT_NE(unsigned_image.err.find("unsigned"), std::string::npos) << unsigned_image.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.iso"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.img"));
  EXPECT_EQ(
      Ctl(controller, "media iso " + Quote(dir_ / "x.iso") + " --image 7.7" + trust).exit_code, 5);

  // A viewer may not fetch images; each fetch is in the audit log with its operator.
  auto viewer = Ctl(controller, "operator add helpdesk --role viewer --json");
  ASSERT_EQ(viewer.exit_code, 0);
  const std::string token = Json(viewer.out)->getValue<std::string>("token");
  auto denied = Sh("LIFEBOAT_TOKEN=" + Quote(token) + " " + Quote(LIFEBOAT_CTL) + " --controller " +
                   controller.address() + " --ca " + Quote(controller.data_dir() + "/ca.pem") +
                   " media iso " + Quote(dir_ / "v.iso") + " --image 2.0" + trust);
  EXPECT_EQ(denied.exit_code, 6) << denied.err;
  auto audit = Ctl(controller, "audit list");
  EXPECT_NE(audit.out.find("DownloadImage"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("image 2.0 (for a boot medium)"), std::string::npos) << audit.out;
}

}  // namespace
}  // namespace lifeboat::test
