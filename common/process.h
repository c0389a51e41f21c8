// The one place that starts external programs (ntfsresize, mkntfs, losetup). Blocks until the
// program exits. Children inherit file descriptors that are not close-on-exec on purpose: the
// disk lock is such a descriptor, so a tool keeps the disk locked even if the agent is killed
// while the tool runs, and the next agent run waits for it instead of racing it. Each program
// runs in a session of its own, so signals sent to the agent's process group do not reach it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace lifeboat {

struct ProcessOutput {
  int exit_code = -1;  // the program's exit status; 128 + signal number when killed by a signal
  std::string out;
  std::string err;

  // "ntfsresize exited with 1: ERROR: Volume is scheduled for check." for error messages.
  [[nodiscard]] std::string Summary(const std::string& program) const;
};

// Runs argv[0] (looked up in PATH, then in /sbin and /usr/sbin) with `input` on its standard input.
// Fails only when the program cannot be started; a non-zero exit is reported in ProcessOutput.
[[nodiscard]] Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                               const std::string& input = {});

// Like RunProcess, and calls `on_error_line` with each line of the program's standard error as
// soon as it arrives (without its newline), for programs that report progress there.
[[nodiscard]] Result<ProcessOutput> RunProcess(
    const std::vector<std::string>& argv, const std::string& input,
    const std::function<void(const std::string&)>& on_error_line);

// Like RunProcess, but hands standard output to `on_output` as it arrives instead of keeping it
// in ProcessOutput::out: for programs that print a whole file (a FAT file read back to be hashed).
[[nodiscard]] Result<ProcessOutput> RunProcessStreaming(
    const std::vector<std::string>& argv, const std::function<void(std::string_view)>& on_output);

// Like RunProcess, but standard input comes from `feed`, called for up to `capacity` bytes at a
// time as the program takes them, until it returns 0: for a whole file streamed into a program
// (mcopy - ::/file), read once by the caller (to hash it, to count it).
[[nodiscard]] Result<ProcessOutput> RunProcessFed(
    const std::vector<std::string>& argv,
    const std::function<size_t(char* buffer, size_t capacity)>& feed);

// Like RunProcess, but a non-zero exit becomes an ErrorCode::kTool error with the tool's output.
[[nodiscard]] Result<ProcessOutput> RunChecked(const std::vector<std::string>& argv,
                                               const std::string& input = {});

}  // namespace lifeboat
