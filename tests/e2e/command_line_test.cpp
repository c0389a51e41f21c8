// The command lines of Lifeboat's programs (CLI11, common/cli.h): every subcommand's --help exits
// 0 and lists its own options and only those; an option a command does not take is a usage error
// (exit 2); --version works on each program. The tables below are the documented options of each
// command (docs/cli.md, docs/lifeboatctl.md).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

struct Command {
  std::string words;                 // "disk prepare"
  std::vector<std::string> options;  // the long options it takes, besides --help
  std::string required;              // what it needs besides (so that only the option is wrong)
};

// Every long option any command of `program` takes, so that each command's help can be checked
// for the ones it must not list.
std::set<std::string> AllOptions(const std::vector<Command>& commands) {
  std::set<std::string> all;
  for (const auto& c : commands) all.insert(c.options.begin(), c.options.end());
  return all;
}

// Whether `help` lists `option` as one of its options (at the start of a line, after blanks).
bool Lists(const std::string& help, const std::string& option) {
  size_t at = 0;
  while ((at = help.find(option, at)) != std::string::npos) {
    const size_t line = help.rfind('\n', at);
    const std::string before = help.substr(line == std::string::npos ? 0 : line + 1,
                                           at - (line == std::string::npos ? 0 : line + 1));
    const char after = at + option.size() < help.size() ? help[at + option.size()] : '\n';
    if (before.find_first_not_of(' ') == std::string::npos && (after == ' ' || after == '\n'))
      return true;
    at += option.size();
  }
  return false;
}

void CheckProgram(const std::string& program, const std::string& name,
                  const std::vector<Command>& commands) {
  const std::set<std::string> all = AllOptions(commands);
  for (const auto& c : commands) {
    auto help = Sh(Quote(program) + " " + c.words + " --help");
    EXPECT_EQ(help.exit_code, 0) << c.words << ": " << help.err;
    EXPECT_NE(help.out.find("Usage: " + name + (c.words.empty() ? "" : " " + c.words)),
              std::string::npos)
        << c.words << ":\n"
        << help.out;
    for (const auto& option : all) {
      const bool takes = std::find(c.options.begin(), c.options.end(), option) != c.options.end();
      EXPECT_EQ(Lists(help.out, option), takes)
          << name << " " << c.words << " --help " << (takes ? "does not list " : "lists ") << option
          << ":\n"
          << help.out;
    }
    auto unknown = Sh(Quote(program) + " " + c.words + " " + c.required + " --no-such-option");
    EXPECT_EQ(unknown.exit_code, 2) << c.words << ": " << unknown.out << unknown.err;
    EXPECT_NE(unknown.err.find("--no-such-option"), std::string::npos) << unknown.err;
  }
  auto version = Sh(Quote(program) + " --version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out.rfind(name + " ", 0), 0u) << version.out;
}

TEST(CommandLine, AgentCommandsHaveTheirOwnHelpAndRefuseOthersOptions) {
  const std::vector<std::string> disk = {"--size", "--shrink-margin", "--allow-gpt-repair"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  CheckProgram(LIFEBOAT_AGENT, "lifeboat-agent",
               {
                   {"run", {"--config"}, "--config x.conf"},
                   {"inventory", {"--json", "--state-dir"}, ""},
                   {"apply",
                    with(disk, {"--image", "--version", "--link", "--dry-run", "--state-dir",
                                "--lock-wait", "--json", "--events"}),
                    "x.img --image x.wim --version 1"},
                   {"status", {"--verify", "--state-dir", "--json"}, "x.img"},
                   {"image check", {"--json"}, "x.wim"},
                   {"bcd show", {"--json"}, "x.img"},
                   {"bcd boot-once", {"--state-dir", "--lock-wait", "--json"}, "x.img"},
                   {"disk show", {"--json"}, "x.img"},
                   {"disk plan", with(disk, {"--image-size", "--json"}), "x.img"},
                   {"disk prepare",
                    with(disk, {"--image-size", "--dry-run", "--state-dir", "--lock-wait", "--json",
                                "--events"}),
                    "x.img"},
                   {"disk restore",
                    {"--run", "--dry-run", "--state-dir", "--lock-wait", "--json", "--events"},
                    "x.img --run 1"},
                   {"winre grow",
                    {"--free", "--size", "--shrink-margin", "--dry-run", "--state-dir",
                     "--lock-wait", "--json", "--events"},
                    "x.img --free 250MB"},
                   {"remove",
                    {"--reclaim", "--dry-run", "--state-dir", "--lock-wait", "--json", "--events"},
                    "x.img"},
               });
}

TEST(CommandLine, AnOptionGivenTwiceIsAUsageError) {
  // Which of two versions was meant is not guessed on a command that rewrites disks.
  auto r = Sh(Quote(LIFEBOAT_AGENT) + " apply x.img --image x.wim --version 1 --version 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--version"), std::string::npos) << r.err;
}

TEST(CommandLine, ControllerTakesItsOptionsAndDurationsWithUnits) {
  CheckProgram(LIFEBOAT_CONTROLLER, "lifeboat-controller",
               {{"",
                 {"--config", "--listen", "--http", "--data-dir", "--heartbeat-seconds",
                  "--offline-after", "--tls-names", "--webhooks", "--webhook-secret-file"},
                 ""}});
  auto bad = Sh(Quote(LIFEBOAT_CONTROLLER) + " --offline-after soon");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("is not a duration"), std::string::npos) << bad.err;
}

TEST(CommandLine, ControllerConfigRefusesUnknownKeysWithFileAndLine) {
  TempDir dir;
  const std::string config = dir / "controller.conf";
  Sh("printf 'listen = 127.0.0.1:0\\nheartbeat_secs = 5\\n' > " + Quote(config));
  auto r = Sh(Quote(LIFEBOAT_CONTROLLER) + " --config " + Quote(config) + " --data-dir " +
              Quote(dir / "data"));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(config + ":2: unknown key 'heartbeat_secs'"), std::string::npos) << r.err;
  // A bad value is named with its file and line too.
  Sh("printf 'offline_after_seconds = soon\\n' > " + Quote(config));
  r = Sh(Quote(LIFEBOAT_CONTROLLER) + " --config " + Quote(config));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(config + ":1: offline-after 'soon'"), std::string::npos) << r.err;
}

TEST(CommandLine, CtlCommandsHaveTheirOwnHelpAndRefuseOthersOptions) {
  const std::vector<std::string> connection = {"--controller", "--ca", "--token-file", "--json"};
  auto with = [&](const std::vector<std::string>& own) {
    std::vector<std::string> all = own;
    all.insert(all.end(), connection.begin(), connection.end());
    return all;
  };
  CheckProgram(
      LIFEBOAT_CTL, "lifeboatctl",
      {
          {"image publish", with({"--version", "--sign-key", "--from-path"}), "x.wim --version 1"},
          {"image list", with({"--all"}), ""},
          {"image show", with({}), "1.0"},
          {"image retire", with({}), "1.0"},
          {"rollout create",
           with({"--image", "--winre-grow", "--free", "--size", "--remove", "--reclaim", "--all",
                 "--label", "--machine", "--winre-free-below", "--waves", "--wait",
                 "--max-in-progress", "--failure-threshold", "--max-retries", "--machine-deadline",
                 "--allow-unsigned"}),
           "--image 1.0"},
          {"rollout list", with({}), ""},
          {"rollout show", with({}), "1"},
          {"rollout pause", with({}), "1"},
          {"rollout resume", with({}), "1"},
          {"rollout abort", with({}), "1"},
          {"rollout rollback", with({}), "1"},
          {"machine list", with({"--label", "--winre-free-below"}), ""},
          {"machine show", with({}), "pc1"},
          {"machine boot-recovery", with({"--network", "--image"}), "pc1"},
          {"machine revoke", with({}), "pc1"},
          {"fleet summary", with({}), ""},
          {"token create", with({"--label", "--expires"}), ""},
          {"operator add", with({"--role"}), "bob --role viewer"},
          {"operator list", with({}), ""},
          {"operator remove", with({}), "bob"},
          {"audit list", with({"--limit"}), ""},
          {"key generate", {"--out", "--json"}, "--out x"},
      });
  // Durations take units everywhere, counts are checked before anything is sent.
  auto wait = Sh(Quote(LIFEBOAT_CTL) + " rollout create --image 1.0 --all --wait soon");
  EXPECT_EQ(wait.exit_code, 2);
  EXPECT_NE(wait.err.find("--wait: 'soon' is not a duration"), std::string::npos) << wait.err;
  auto id = Sh(Quote(LIFEBOAT_CTL) + " rollout show -1");
  EXPECT_EQ(id.exit_code, 2) << id.err;
  // A rollout does one job, and each job's options go with it: refused before anything is sent.
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"--all", "give exactly one of --image V"},
           {"--image 1.0 --winre-grow --all", "give exactly one of --image V"},
           {"--winre-grow --remove --all", "give exactly one of --image V"},
           {"--image 1.0 --free 250MB --all", "--free and --size go with --winre-grow"},
           {"--winre-grow --reclaim windows --all", "--reclaim goes with --remove"},
           {"--remove --allow-unsigned --all", "--allow-unsigned goes with --image"},
           {"--remove --reclaim everything --all", "--reclaim"},
           {"--winre-grow --free lots --all", "--free"},
       }) {
    auto r = Sh(Quote(LIFEBOAT_CTL) + " rollout create " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << args << ": " << r.err;
  }
}

TEST(CommandLine, AnEmptyTokenFileVariableIsUnset) {
  TempDir dir;
  // With LIFEBOAT_TOKEN_FILE empty the token comes from LIFEBOAT_TOKEN; before, "" was opened as
  // a file and the command failed on it. Here the CA is missing, which is the next thing said.
  auto r = Sh("LIFEBOAT_TOKEN_FILE= LIFEBOAT_TOKEN=x " + Quote(LIFEBOAT_CTL) + " --ca " +
              Quote(dir / "none.pem") + " fleet summary");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find("operator token"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CA certificate"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lifeboat::test
