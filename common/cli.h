// Command lines of Lifeboat's programs, on CLI11 (header-only, so the agent's static programs can
// use it too): every subcommand has its own --help and takes only its own options; the exit codes
// are Lifeboat's (0 after --help or --version, 2 for a mistake on the command line); sizes and
// durations are checked by the one parser each in common/units.h.
#pragma once

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "common/units.h"
#include "common/version.h"

namespace lifeboat {

inline constexpr int kExitCommandLine = 2;

// What a program prints for a command-line mistake when --json was given: the message, and the
// option or argument it names (CLI11 begins its message with it, "--size: ..."), or "".
using JsonUsageError = std::function<void(const std::string& message, const std::string& field)>;

// Parses argv. Returns nothing when the command should run; otherwise the exit code, with what
// CLI11 had to say (the help, the version, or the mistake and how to get help) already printed.
// With --json among the arguments a mistake also goes to `json_error`, so that a tool reading JSON
// gets the one error shape of docs/json.md on stdout.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv,
                                           const JsonUsageError& json_error = {}) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::string(argv[i]) == "--json";
    if (json && json_error) {
      const std::string message = e.what();
      const size_t colon = message.find(": ");
      const bool names_one = colon != std::string::npos && message.find(' ') > colon;
      json_error(message, names_one ? message.substr(0, colon) : std::string());
    }
    return kExitCommandLine;
  }
}

// A validator: `ok` tells a good value; a bad one is named, quoted, as "not <expected>".
inline CLI::Validator CheckWith(std::function<bool(const std::string&)> ok, std::string expected) {
  return CLI::Validator(
      [ok = std::move(ok), expected = std::move(expected)](std::string& text) -> std::string {
        return ok(text) ? "" : Quoted(text) + " is not " + expected;
      },
      "");
}

// A size as ParseSize reads it, not zero: "2G", "1536M", "1073741824".
inline CLI::Validator SizeCheck() {
  return CheckWith(
      [](const std::string& text) {
        auto size = ParseSize(text);
        return size && size->value > 0;
      },
      "a size (try 2G, 1536M, 1073741824)");
}

// A duration as ParseDuration reads it: "90" (seconds), "30s", "5m", "1h", "7d".
inline CLI::Validator DurationCheck() {
  return CheckWith([](const std::string& text) { return ParseDuration(text).has_value(); },
                   "a duration (try 90, 30s, 5m, 1h, 7d)");
}

// A count as ParseCount reads it: "0" to "4294967295".
inline CLI::Validator CountCheck() {
  return CheckWith([](const std::string& text) { return ParseCount(text).has_value(); },
                   "a whole number");
}

// A version as it enters (Version::Parse): checked here so that an absurd one (100,000 characters)
// is named as the option it is, before anything is sent or done.
inline CLI::Validator VersionCheck() {
  return CheckWith([](const std::string& text) { return Version::Parse(text).has_value(); },
                   "a version: use 1 to 64 of letters, digits, '.', '_' or '-'");
}

// `text` broken into lines of at most `width` characters, at spaces.
inline std::string Wrap(const std::string& text, size_t width = 96) {
  std::string out, line;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

// A subcommand with its one-line summary (listed under its parent) and its full description
// (shown, wrapped, by its own --help).
inline CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& summary,
                            const std::string& description = "") {
  CLI::App* command = parent.add_subcommand(name, summary);
  command->footer(description.empty() ? std::string() : "\n" + Wrap(description) + "\n");
  return command;
}

// A group of subcommands ("disk": show, plan, prepare): one of them must follow.
inline CLI::App* AddGroup(CLI::App& parent, const std::string& name, const std::string& summary) {
  CLI::App* group = AddCommand(parent, name, summary);
  group->require_subcommand(1);
  return group;
}

// Option descriptions wrapped beside their column (CLI11 2.1 prints each on one line).
class WrappingFormatter : public CLI::Formatter {
 public:
  std::string make_option_desc(const CLI::Option* option) const override {
    return Wrap(CLI::Formatter::make_option_desc(option), 66);
  }
};

// The same look for every program: options in a 30-column name column, descriptions wrapped.
inline void StyleHelp(CLI::App& app) {
  auto formatter = std::make_shared<WrappingFormatter>();
  formatter->column_width(30);
  app.formatter(formatter);
}

// A progress bar on stderr, "\rwrite [#####      ] 40% 200.00 MiB of 500.00 MiB", redrawn when the
// percentage changes. On a stream that is not a terminal only the final line (100 %) is printed.
class ProgressBar {
 public:
  explicit ProgressBar(std::string what) : what_(std::move(what)) {}
  void Show(uint64_t done, uint64_t total) {
    const int percent = total ? static_cast<int>(done * 100 / total) : 100;
    if (percent == last_ || (!isatty(STDERR_FILENO) && percent != 100)) return;
    last_ = percent;
    std::string bar(static_cast<size_t>(percent / 4), '#');
    bar.resize(25, ' ');
    std::cerr << "\r" << what_ << " [" << bar << "] " << percent << "% " << HumanSize(Bytes{done})
              << " of " << HumanSize(Bytes{total}) << (percent == 100 ? "\n" : "") << std::flush;
  }

 private:
  std::string what_;
  int last_ = -1;
};

}  // namespace lifeboat
