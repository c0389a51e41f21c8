// lifeboatctl image build: reads a recipe, checks every input, stages what the image will hold in
// a folder beside the output, and has wimlib write the image; then the build manifest beside it.
// Blocks for the whole build.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::compose {

// The time stamped on everything the build adds when SOURCE_DATE_EPOCH is not set:
// 2000-01-01T00:00:00Z. A fixed time, not the clock, so that builds repeat byte for byte.
inline constexpr int64_t kDefaultTimestamp = 946684800;

// Images above this cannot sit on FAT32 media (a file there is at most 4 GiB - 1).
inline constexpr uint64_t kFat32FileLimit = 4ULL * 1024 * 1024 * 1024 - 1;

struct BuildRequest {
  std::string recipe;
  std::string out;       // the WIM to write
  std::string manifest;  // default: out + ".manifest.json"
  int64_t timestamp = kDefaultTimestamp;
  std::function<void(const std::string&)> say;                 // a line of progress; may be empty
  std::function<void(uint64_t done, uint64_t total)> writing;  // may be empty
};

struct BuildResult {
  std::string out, manifest;
  std::string sha256;
  uint64_t size = 0;
  std::string guid;
  size_t files = 0;  // files the build added or replaced (start-up and manifest included)
  size_t drivers = 0;
  std::vector<std::string> warnings;
};

// What an operator should know about a finished image of `size` bytes written to `out`: above
// kFat32FileLimit, that FAT32 media cannot carry it.
[[nodiscard]] std::vector<std::string> ResultWarnings(const std::string& out, uint64_t size);

// Crash contract: nothing appears at `out` or `manifest` until the image is whole and checked
// by wimlib; the staging folder (.NAME.build-XXXXXX beside `out`) is removed on every return.
// Errors: those of ReadRecipe, ScanInputs and MakeBuildPlan; kNotFound/kCorrupt/kUnsupported for
// the base; kIo for the output. The message names the recipe line and the input.
[[nodiscard]] Result<BuildResult> BuildImage(const BuildRequest& request);

}  // namespace lifeboat::compose
