// The controller's gRPC services in use: agents get assignments, download with resume and report;
// and every malformed request gets its status code naming the field.
#include "tests/e2e/controller_fixture.h"

namespace lifeboat::controller {
namespace {

TEST_F(ControllerGrpcTest, AgentsGetAssignmentsDownloadWithResumeAndReport) {
  v1::PublishImageFromPathResponse published;
  ASSERT_TRUE(PublishFromPath("1.0", "a.wim", &published).ok());
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

// Labels an operator changes stay when the machine's agent registers again with its own; a
// machine in an open rollout cannot be deleted; a deleted one is forgotten, history and label
// changes with it, and starts over when it calls again.
TEST_F(ControllerGrpcTest, LabelChangesOutliveRegistrationAndDeleteForgetsAMachine) {
  RegisterMachines(2);  // pc0 site=paris, pc1 site=lyon
  auto register_pc0 = [&] {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id("pc0");
    request.set_hostname("pc0.corp");
    (*request.mutable_labels())["site"] = "paris";
    (*request.mutable_labels())["ring"] = "a";
    v1::RegisterResponse response;
    return Agent("pc0").Register(&context, request, &response);
  };
  auto labels_of = [&](const std::string& id) {
    grpc::ClientContext context;
    v1::GetMachineRequest request;
    request.set_id(id);
    v1::GetMachineResponse response;
    auto status = admin_->GetMachine(&context, request, &response);
    std::map<std::string, std::string> out(response.machine().labels().begin(),
                                           response.machine().labels().end());
    return std::make_pair(status, out);
  };
  auto change = [&](const std::string& id, std::map<std::string, std::string> set,
                    std::vector<std::string> remove, v1::SetMachineLabelsResponse* out) {
    grpc::ClientContext context;
    v1::SetMachineLabelsRequest request;
    request.set_machine_id(id);
    for (const auto& [k, v] : set) (*request.mutable_labels())[k] = v;
    for (const auto& k : remove) request.add_remove(k);
    return admin_->SetMachineLabels(&context, request, out);
  };
  auto remove_machine = [&](const std::string& id, v1::DeleteMachineResponse* out) {
    grpc::ClientContext context;
    v1::DeleteMachineRequest request;
    request.set_machine_id(id);
    return admin_->DeleteMachine(&context, request, out);
  };
  using Labels = std::map<std::string, std::string>;

  ASSERT_TRUE(register_pc0().ok());
  v1::SetMachineLabelsResponse changed;
  ASSERT_TRUE(change("pc0", {{"ring", "b"}, {"owner", "it"}}, {"site"}, &changed).ok());
  EXPECT_EQ(Labels(changed.machine().labels().begin(), changed.machine().labels().end()),
            (Labels{{"ring", "b"}, {"owner", "it"}}));
  // The agent registers again with its own labels: the operator's changes stay on top.
  ASSERT_TRUE(register_pc0().ok());
  EXPECT_EQ(labels_of("pc0").second, (Labels{{"ring", "b"}, {"owner", "it"}}));
  // Refusals change nothing.
  EXPECT_EQ(change("pc0", {}, {}, &changed).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(change("pc0", {{"a=b", "c"}}, {}, &changed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(change("pc0", {{"ring", "c"}}, {"ring"}, &changed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(change("nobody", {{"ring", "c"}}, {}, &changed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(labels_of("pc0").second, (Labels{{"ring", "b"}, {"owner", "it"}}));

  // pc1 is held by an open rollout: it stays.
  ASSERT_TRUE(PublishFromPath("1.0").ok());
  {
    grpc::ClientContext context;
    v1::CreateRolloutRequest request;
    request.mutable_spec()->set_image_version("1.0");
    (*request.mutable_spec()->mutable_selector()->mutable_labels())["site"] = "lyon";
    request.mutable_spec()->set_allow_unsigned(true);  // this test's image is unsigned
    v1::CreateRolloutResponse created;
    ASSERT_TRUE(admin_->CreateRollout(&context, request, &created).ok());
  }
  v1::DeleteMachineResponse deleted;
  auto held = remove_machine("pc1", &deleted);
  EXPECT_EQ(held.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(held.error_message().find("is in rollout 1, which is not finished"), std::string::npos)
      << held.error_message();
  EXPECT_TRUE(labels_of("pc1").first.ok());

  // pc0 is forgotten, and starts over when it registers again: its agent's labels only.
  ASSERT_TRUE(remove_machine("pc0", &deleted).ok());
  EXPECT_EQ(deleted.attempts_deleted(), 0u);
  EXPECT_EQ(labels_of("pc0").first.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(remove_machine("pc0", &deleted).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(register_pc0().ok());
  EXPECT_EQ(labels_of("pc0").second, (Labels{{"site", "paris"}, {"ring", "a"}}));
  // Both are in the audit log.
  grpc::ClientContext context;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(admin_->ListAudit(&context, v1::ListAuditRequest(), &audit).ok());
  std::string actions;
  for (const auto& e : audit.entries())
    actions += e.action() + ":" + e.target() + ":" + e.outcome() + "\n";
  EXPECT_NE(actions.find("SetMachineLabels:machine pc0: owner=it ring=b -site:ok"),
            std::string::npos)
      << actions;
  EXPECT_NE(actions.find("DeleteMachine:machine pc0 (0 attempts):ok"), std::string::npos)
      << actions;
  EXPECT_NE(actions.find("DeleteMachine:machine pc1 (0 attempts):failed"), std::string::npos)
      << actions;
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
  ASSERT_TRUE(PublishFromPath("1.0").ok());
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
      {[this] { return PublishFromPath(std::string(100000, '7')); },
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

// A rollout's machines come a page at a time in wave order, each page with every wave's progress;
// a page token of another listing is refused.
TEST_F(ControllerGrpcTest, ARolloutsMachinesArePagedInWaveOrderWithEveryWavesProgress) {
  ASSERT_TRUE(PublishFromPath("1.0").ok());
  RegisterMachines(5);
  v1::CreateRolloutResponse created;
  {
    grpc::ClientContext context;
    v1::CreateRolloutRequest request;
    request.mutable_spec()->set_image_version("1.0");
    request.mutable_spec()->mutable_selector()->set_all(true);
    request.mutable_spec()->add_waves()->set_count(2);
    request.mutable_spec()->add_waves()->set_count(5);
    request.mutable_spec()->set_allow_unsigned(true);
    ASSERT_TRUE(admin_->CreateRollout(&context, request, &created).ok());
  }
  // Every machine calls in: wave 1's two get their attempt.
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    v1::HeartbeatRequest beat;
    beat.set_machine_id("pc" + std::to_string(i));
    v1::HeartbeatResponse answer;
    ASSERT_TRUE(Agent(beat.machine_id()).Heartbeat(&context, beat, &answer).ok());
  }
  auto page = [&](const std::string& token, v1::ListRolloutMachinesResponse* out) {
    grpc::ClientContext context;
    v1::ListRolloutMachinesRequest request;
    request.set_id(created.rollout().id());
    request.set_page_size(2);
    request.set_page_token(token);
    return admin_->ListRolloutMachines(&context, request, out);
  };
  std::vector<std::string> ids;
  std::vector<uint32_t> waves;
  std::string token;
  int pages = 0;
  do {
    v1::ListRolloutMachinesResponse response;
    ASSERT_TRUE(page(token, &response).ok());
    ++pages;
    ASSERT_EQ(response.waves_size(), 2);
    EXPECT_EQ(response.waves(0).targeted(), 2u);
    EXPECT_EQ(response.waves(0).in_progress(), 2u);
    EXPECT_EQ(response.waves(1).targeted(), 3u);
    EXPECT_EQ(response.waves(1).pending(), 3u);
    for (const auto& m : response.machines()) {
      ids.push_back(m.machine_id());
      waves.push_back(m.wave());
      EXPECT_EQ(m.state(), m.wave() == 0 ? "assigned" : "pending") << m.machine_id();
    }
    token = response.next_page_token();
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 5u);
  EXPECT_EQ(waves, (std::vector<uint32_t>{0, 0, 1, 1, 1}));
  v1::ListRolloutMachinesResponse unused;
  grpc::ClientContext context;
  v1::ListMachinesRequest machines_request;
  machines_request.set_page_size(1);
  v1::ListMachinesResponse machines;
  ASSERT_TRUE(admin_->ListMachines(&context, machines_request, &machines).ok());
  EXPECT_EQ(page(machines.next_page_token(), &unused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace lifeboat::controller
