// The fleet's WinRE through lifeboatctl: agents report it in their inventory (a real controller on
// loopback, agents with their own certificates), operators find the machines that need it grown.
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "lifeboat/v1/agent_service.grpc.pb.h"
#include "tests/e2e/controller_process.h"
#include "tests/support/grpc_support.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// The fleet's WinRE, as agents report it: `machine list --winre-free-below` finds the machines
// Windows' WinRE update fails on (KB5034441), `machine show` says why.
TEST(CtlWinRe, MachinesShortOfWinReFreeSpaceAreFound) {
  TempDir dir;
  ControllerProcess controller(dir / "controller");
  const std::map<std::string, std::optional<uint64_t>> free = {
      {"short", 40'000'000}, {"roomy", 600'000'000}, {"unknown", std::nullopt}, {"none", 0}};
  for (const auto& [id, bytes] : free) {
    const auto identity = EnrollAgent(controller.address(), controller.data_dir(), id);
    auto agent = v1::AgentService::NewStub(
        AgentChannel(controller.address(), controller.data_dir(), identity));
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_machine_id(id);
    request.set_hostname(id);
    if (id != "none") {
      request.mutable_inventory()->set_winre_present(true);
      request.mutable_inventory()->set_winre_size_bytes(300 << 20);
      if (bytes) request.mutable_inventory()->set_winre_free_bytes(*bytes);
    }
    v1::RegisterResponse response;
    ASSERT_TRUE(agent->Register(&context, request, &response).ok()) << id;
  }
  auto listed = Ctl(controller, "machine list --winre-free-below 250MB --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(JsonShapeProblem(listed.out, "machine_list"), "");
  auto machines = Json(listed.out)->getArray("machines");
  ASSERT_EQ(machines->size(), 1u) << listed.out;
  EXPECT_EQ(machines->getObject(0)->getValue<std::string>("id"), "short");
  EXPECT_EQ(Json(Ctl(controller, "machine list --json").out)->getArray("machines")->size(), 4u);
  auto bad = Ctl(controller, "machine list --winre-free-below plenty");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;

  auto shown = Ctl(controller, "machine show short");
  EXPECT_NE(shown.out.find("winre      300 MiB, 38.15 MiB free (short of the 250 MB"),
            std::string::npos)
      << shown.out;
  EXPECT_EQ(Ctl(controller, "machine show roomy").out.find("short of"), std::string::npos);

  // A WinRE-grow rollout for exactly those machines: the others are not touched at all.
  auto bad_mix = Ctl(controller,
                     "rollout create --winre-grow --machine roomy --winre-free-below "
                     "250MB");
  EXPECT_EQ(bad_mix.exit_code, 2) << bad_mix.err;
  auto none = Ctl(controller, "rollout create --winre-grow --all --winre-free-below 1MB");
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_NE(none.err.find("no matching machine reports WinRE"), std::string::npos) << none.err;
  auto created =
      Ctl(controller, "rollout create --winre-grow --all --winre-free-below 250MB --json");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(JsonShapeProblem(created.out, "rollout_show"), "");
  auto rollout = Json(created.out)->getObject("rollout");
  auto targets = rollout->getObject("spec")->getObject("selector")->getArray("machine_ids");
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ(targets->getElement<std::string>(0), "short");
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("targeted"), 1);
  // The audit log names the job.
  EXPECT_NE(Ctl(controller, "audit list").out.find("winre-grow --free 250MB"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::test
