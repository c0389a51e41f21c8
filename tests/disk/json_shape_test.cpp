// Every JSON output of lifeboat-agent, judged against docs/json.schema.json by python3-jsonschema:
// the disk and its plan, a dry run and a real apply, going up and down in version, status, the
// boot store, the inventory, an image, and the error shape for a refusal and for a mistake.
#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

// `args` run with --json: exit code `exit_code`, and the output in the shape `shape`.
void ExpectShape(std::vector<std::string> args, const std::string& shape, int exit_code = 0) {
  args.push_back("--json");
  auto r = Agent(args);
  std::string command;
  for (const auto& a : args) command += a + " ";
  EXPECT_EQ(r.exit_code, exit_code) << command << "\n" << r.err << r.out;
  EXPECT_EQ(JsonShapeProblem(r.out, shape), "") << command << "\n" << r.err;
}

TEST(AgentJson, EveryOutputHasTheDocumentedShape) {
  TempDir dir;
  const std::string disk = dir / "disk.img";
  MakeWindowsDisk(disk, "--label gpt --fill-mb 20");
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(dir / "a.wim", "--variant good"));
  const std::string state = dir / "state";
  auto apply = [&](const std::string& version) -> std::vector<std::string> {
    return {"apply", disk, "--image", dir / "a.wim", "--version", version, "--state-dir", state};
  };

  ExpectShape({"disk", "show", disk}, "disk_show");
  ExpectShape({"disk", "plan", disk, "--size", "1G"}, "disk_plan");
  ExpectShape({"image", "check", dir / "a.wim"}, "image_check");
  ExpectShape({"inventory", disk}, "inventory");
  auto dry = apply("1.10");
  dry.push_back("--dry-run");
  ExpectShape(dry, "apply");
  ExpectShape(apply("1.10"), "apply");
  ExpectShape(apply("1.10"), "apply");  // unchanged
  ExpectShape({"status", disk, "--verify", "--state-dir", state}, "status");
  ExpectShape({"bcd", "show", disk}, "bcd_show");
  ExpectShape({"bcd", "boot-once", disk}, "boot_once");
  ExpectShape({"disk", "prepare", disk, "--size", "1G", "--state-dir", state}, "disk_prepare");

  // Going to an older version says so.
  auto down = Agent([&] {
    auto args = apply("1.9");
    args.push_back("--json");
    return args;
  }());
  ASSERT_EQ(down.exit_code, 0) << down.err << down.out;
  EXPECT_EQ(Json(down.out)->getValue<std::string>("result"), "downgraded") << down.out;
  EXPECT_EQ(Json(down.out)->getValue<std::string>("previous_version"), "1.10");

  // Failures: a refusal with its reason, and a mistake naming its option; both JSON on stdout.
  const std::string before = ImageChecksum(disk);
  ExpectShape({"disk", "plan", disk, "--size", "100T"}, "error", 3);
  ExpectShape(apply("not a version"), "error", 2);
  ExpectShape({"disk", "show", disk, "--no-such-option"}, "error", 2);
  ExpectShape({"status", dir / "missing.img"}, "error", 5);
  auto refused = Agent({"disk", "plan", disk, "--size", "100T", "--json"});
  auto error = Json(refused.out)->getObject("error");
  EXPECT_EQ(error->getValue<std::string>("code"), "refused");
  EXPECT_EQ(error->getValue<std::string>("reason"), "not-enough-space") << refused.out;
  auto mistake = Agent({"disk", "show", disk, "--no-such-option", "--json"});
  EXPECT_EQ(Json(mistake.out)->getObject("error")->getValue<std::string>("code"),
            "invalid_argument");
  EXPECT_EQ(ImageChecksum(disk), before);
}

}  // namespace
}  // namespace lifeboat::test
