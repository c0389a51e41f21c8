// The image build's plan: which file of which input goes to which path of the image, which
// drivers load at start-up, and the start-up files' text. Pure: from the recipe, the base image's
// architecture and what the inputs hold (input_scan.h); nothing is read or written.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "compose/input_scan.h"
#include "compose/recipe.h"

namespace lifeboat::compose {

struct Placement {
  std::string target;  // image path; folders spelled as first seen, since Windows ignores case
  size_t input = 0;    // into the inputs given
  size_t entry = 0;    // into that input's entries
};

struct DriverLoad {
  std::string inf;  // image path of the INF
  std::vector<std::string> architectures;
  std::string driver_class;
  size_t input = 0;
};

struct BuildPlan {
  std::vector<Placement> placements;  // in image-path order
  std::vector<DriverLoad> driver_loads;
  std::vector<std::pair<std::string, std::string>> environment;  // set at start-up
  std::string startnet_cmd;                                      // \Windows\System32\startnet.cmd
  std::string winpeshl_ini;                                      // \Windows\System32\winpeshl.ini
};

// Files the build writes itself; an input may not be placed at them.
inline constexpr const char* kStartnetPath = "\\Windows\\System32\\startnet.cmd";
inline constexpr const char* kWinpeshlPath = "\\Windows\\System32\\winpeshl.ini";
inline constexpr const char* kBuildManifestPath = "\\Lifeboat\\build.json";

// Errors name the recipe line and the input: kInvalidArgument (two inputs at one image path, a
// file where another input needs a folder, an input at a path the build writes), kNotFound (a
// `take` pattern that matches nothing, a driver folder without an INF), kUnsupported (a member
// whose name escapes its folder or is a link; an INF for another architecture or without models).
[[nodiscard]] Result<BuildPlan> MakeBuildPlan(const Recipe& recipe, const std::string& architecture,
                                              const std::vector<Input>& inputs);

}  // namespace lifeboat::compose
