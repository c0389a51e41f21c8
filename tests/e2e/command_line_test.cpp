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
  CheckProgram(
      LIFEBOAT_AGENT, "lifeboat-agent",
      {
          {"run", {"--config"}, "--config x.conf"},
          {"inventory", {"--state-dir"}, ""},
          {"apply",
           with(disk, {"--image", "--version", "--link", "--dry-run", "--state-dir", "--lock-wait",
                       "--json", "--events"}),
           "x.img --image x.wim --version 1"},
          {"status", {"--verify", "--state-dir", "--json"}, "x.img"},
          {"image check", {"--json"}, "x.wim"},
          {"bcd show", {"--json"}, "x.img"},
          {"bcd boot-once", {"--state-dir", "--lock-wait", "--json"}, "x.img"},
          {"disk show", {"--json"}, "x.img"},
          {"disk plan", with(disk, {"--image-size", "--json"}), "x.img"},
          {"disk prepare",
           with(disk, {"--image-size", "--dry-run", "--state-dir", "--lock-wait", "--json"}),
           "x.img"},
      });
}

TEST(CommandLine, ControllerTakesItsOptionsAndDurationsWithUnits) {
  CheckProgram(LIFEBOAT_CONTROLLER, "lifeboat-controller",
               {{"",
                 {"--config", "--listen", "--http", "--data-dir", "--heartbeat-seconds",
                  "--offline-after", "--tls-names"},
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

}  // namespace
}  // namespace lifeboat::test
