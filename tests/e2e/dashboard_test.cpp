// The web dashboard in a real browser: Debian's Chromium, driven by puppeteer-core
// (tests/dashboard/dashboard-test.mjs), against a real controller whose machines are played by
// simulated agents over real gRPC, carrying out a rollout step by step while the page watches.
// Screenshots go to build/tests/dashboard-screenshots/.
#include <atomic>
#include <chrono>
#include <set>

#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// The error text the first machine's attempt fails with, as an agent would report it.
constexpr const char* kFailure =
    "write-image: writing the image failed at byte 1048576: Input/output error (the disk "
    "refused the write)";

class DashboardTest : public ControllerGrpcTest {
 protected:
  void Configure(ServerOptions& options) override { options.http_listen = "127.0.0.1:0"; }

  std::string AddOperator(const std::string& name, const std::string& role) {
    grpc::ClientContext context;
    v1::CreateOperatorRequest request;
    request.set_name(name);
    request.set_role(role);
    v1::CreateOperatorResponse response;
    EXPECT_TRUE(admin_->CreateOperator(&context, request, &response).ok());
    return response.token();
  }

  // Machines pc0..pc{n-1} as agents: each calls in every 250 ms; an assignment is carried out in
  // steps about 0.9 s apart (download with progress, check, prepare, write, boot entry, done), so
  // a machine takes some 6 s and the eight over 45 s: the browser pauses the rollout long before
  // its end even on a loaded machine. The first attempt of all fails in write-image with kFailure
  // (its machine then says it is in the failed state, as an agent does); the others succeed.
  class Agents {
   public:
    Agents(DashboardTest& test, int n) : test_(test), n_(n) {}
    // One round of calls and reports.
    void Tick() {
      for (int i = 0; i < n_; ++i) {
        const std::string id = "pc" + std::to_string(i);
        Work& work = works_[id];
        grpc::ClientContext context;
        v1::HeartbeatRequest beat;
        beat.set_machine_id(id);
        beat.set_state(work.attempt    ? v1::AGENT_STATE_APPLYING
                       : failed_ == id ? v1::AGENT_STATE_FAILED
                                       : v1::AGENT_STATE_IDLE);
        beat.set_attempt_id(work.attempt);
        v1::HeartbeatResponse answer;
        if (!test_.Agent(id).Heartbeat(&context, beat, &answer).ok()) continue;
        if (!work.attempt && answer.has_assignment()) {
          work = {answer.assignment().attempt_id(), 0, steady_clock::now(), !failed_any_};
          failed_any_ = true;
        }
        if (work.attempt && steady_clock::now() >= work.next) Advance(id, work);
      }
    }
    std::string failed_machine() const { return failed_; }

   private:
    struct Work {
      uint64_t attempt = 0;
      uint64_t sequence = 0;
      steady_clock::time_point next;
      bool fails = false;
    };
    void Advance(const std::string& id, Work& work) {
      static const char* kSteps[] = {"download",    "download", "check-image", "prepare-partition",
                                     "write-image", "edit-bcd", "done"};
      const std::string step = kSteps[work.sequence];
      v1::ReportProgressRequest report;
      report.set_machine_id(id);
      report.set_attempt_id(work.attempt);
      auto* e = report.add_events();
      e->set_sequence(++work.sequence);
      e->set_step(step);
      const bool fail = work.fails && step == "write-image";
      e->set_status(fail                 ? v1::StepEvent::STATUS_FAILED
                    : work.sequence == 1 ? v1::StepEvent::STATUS_PROGRESS
                                         : v1::StepEvent::STATUS_SUCCEEDED);
      if (step == "download") {
        e->set_bytes_total(12 << 20);
        e->set_bytes_done(work.sequence == 1 ? 6 << 20 : 12 << 20);
      }
      if (fail) e->set_message(kFailure);
      e->set_at("2026-12-03T06:00:00Z");
      grpc::ClientContext context;
      v1::ReportProgressResponse ack;
      EXPECT_TRUE(test_.Agent(id).ReportProgress(&context, report, &ack).ok()) << id << " " << step;
      work.next = steady_clock::now() + milliseconds(900);
      if (fail) failed_ = id;
      if (fail || step == "done") work = {};
    }
    DashboardTest& test_;
    const int n_;
    std::map<std::string, Work> works_;
    bool failed_any_ = false;
    std::string failed_;
  };
};

TEST_F(DashboardTest, AnOperatorWatchesPausesAndHelpsAViewerIsRefused) {
  // A signed image, eight machines, a rollout one machine at a time in three waves.
  auto key = GenerateSigningKey().value();
  v1::PublishImageFromPathResponse plain;
  ASSERT_TRUE(PublishFromPath("0.9", "a.wim", &plain).ok());
  {
    const auto& i = plain.image();
    const ImageManifest manifest{
        "1.0", i.sha256(), i.size_bytes(), i.name(), i.description(), i.architecture(), {}, {}};
    grpc::ClientContext context;
    v1::PublishImageFromPathRequest request;
    request.set_version("1.0");
    request.set_path(*wims_ / "a.wim");
    auto* s = request.mutable_signed_by();
    s->mutable_signature()->set_manifest(ManifestText(manifest));
    s->mutable_signature()->set_signature(Sign(key.private_pem, ManifestText(manifest)).value());
    s->mutable_signature()->set_key_id(KeyId(key.public_pem).value());
    s->set_public_key(key.public_pem);
    v1::PublishImageFromPathResponse published;
    ASSERT_TRUE(admin_->PublishImageFromPath(&context, request, &published).ok());
  }
  RegisterMachines(8);
  const std::string operator_token = AddOperator("olivia", "operator");
  const std::string viewer_token = AddOperator("victor", "viewer");
  v1::CreateRolloutResponse created;
  {
    grpc::ClientContext context;
    v1::CreateRolloutRequest request;
    auto* spec = request.mutable_spec();
    spec->set_image_version("1.0");
    spec->mutable_selector()->set_all(true);
    for (uint32_t count : {2u, 4u, 8u}) spec->add_waves()->set_count(count);
    spec->set_max_in_progress(1);
    spec->set_failure_threshold_percent(60);  // the one failure of wave 1 (50 %) does not halt it
    ASSERT_TRUE(admin_->CreateRollout(&context, request, &created).ok());
  }
  // The agents work until the first attempt has failed, then on while the browser watches.
  Agents agents(*this, 8);
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (agents.failed_machine().empty() && steady_clock::now() < deadline) {
    agents.Tick();
    std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_FALSE(agents.failed_machine().empty()) << "no attempt failed";
  std::atomic<bool> done = false;
  std::thread playing([&] {
    while (!done) {
      agents.Tick();
      std::this_thread::sleep_for(milliseconds(250));
    }
  });

  // The page is served over HTTPS with the controller's certificate, which its CA signed.
  const std::string url = "https://127.0.0.1:" + std::to_string(server_->http_port());
  auto page = Sh("curl -s -o /dev/null -w '%{http_code} %{content_type}' --cacert " +
                 Quote(dir_ / "ca.pem") + " " + url + "/ui/");
  EXPECT_EQ(page.out, "200 text/html; charset=utf-8") << page.err;

  const std::string shots = std::string(LIFEBOAT_BINARY_DIR) + "/tests/dashboard-screenshots";
  std::filesystem::remove_all(shots);
  auto walk = Sh("cd " + Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/dashboard") +
                 " && LIFEBOAT_URL=" + url + " OPERATOR_TOKEN=" + operator_token +
                 " VIEWER_TOKEN=" + viewer_token + " ADMIN_TOKEN=" + test::AdminToken(dir_.path()) +
                 " ROLLOUT_ID=" + std::to_string(created.rollout().id()) + " FAILING_MACHINE=" +
                 agents.failed_machine() + " FAILING_TEXT=" + Quote(kFailure) +
                 " SCREENSHOTS=" + Quote(shots) + " timeout 300 node dashboard-test.mjs 2>&1");
  done = true;
  playing.join();
  EXPECT_EQ(walk.exit_code, 0) << walk.out << walk.err;
  std::cout << walk.out;

  // What the browser did is what the controller holds: the rollout paused by olivia, the failed
  // machine's boot into recovery asked, victor's attempt refused and recorded.
  grpc::ClientContext context;
  v1::GetRolloutRequest asked;
  asked.set_id(created.rollout().id());
  v1::GetRolloutResponse rollout;
  ASSERT_TRUE(admin_->GetRollout(&context, asked, &rollout).ok());
  EXPECT_EQ(rollout.rollout().state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_GT(rollout.rollout().progress().pending(), 0u);
  grpc::ClientContext machine_context;
  v1::GetMachineRequest which;
  which.set_id(agents.failed_machine());
  v1::GetMachineResponse machine;
  ASSERT_TRUE(admin_->GetMachine(&machine_context, which, &machine).ok());
  EXPECT_TRUE(machine.machine().boot_recovery_pending());
  grpc::ClientContext audit_context;
  v1::ListAuditRequest audit_request;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(admin_->ListAudit(&audit_context, audit_request, &audit).ok());
  std::set<std::string> seen;
  for (const auto& e : audit.entries())
    seen.insert(e.who() + " " + e.action() + " " + e.outcome() + " " + e.target());
  const std::string rollout_target = "rollout " + std::to_string(created.rollout().id());
  EXPECT_TRUE(seen.contains("olivia PauseRollout ok " + rollout_target));
  EXPECT_TRUE(seen.contains("olivia RequestBootRecovery ok machine " + agents.failed_machine()));
  EXPECT_TRUE(seen.contains("victor ResumeRollout denied "));
  for (const char* name : {"1-sign-in-refused", "2-fleet", "3-rollout-progress", "4-rollout-paused",
                           "5-machine-history", "6-machines-failed", "7-viewer", "8-audit-denied"})
    EXPECT_GT(std::filesystem::file_size(shots + "/" + name + ".png"), 10000u) << name;
}

}  // namespace
}  // namespace lifeboat::controller
