// An image-build recipe (docs/image-build.md): the YAML file a desktop engineer writes, read with
// yaml-cpp (used only in recipe.cpp). Parsing checks the recipe's own form — known keys, types,
// target paths, the version and the date — and remembers each entry's line, so that a later
// complaint about an input can name where the recipe asked for it. It does not look at the inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::compose {

// A path on the build machine, as the recipe wrote it; relative ones are relative to the recipe's
// folder (Recipe::Resolve).
struct SourceRef {
  std::string written;
  int line = 0;  // 1-based line of the recipe
};

struct BaseSpec {
  SourceRef image;  // a WIM; or
  SourceRef iso;    // an ISO 9660 image holding one, at iso_path
  std::string iso_path = "sources/boot.wim";
  unsigned index = 0;  // 0: the WIM's boot index
  int line = 0;
};

// Members of a ZIP or CAB, or files under a folder, chosen by `take` (case-insensitive patterns:
// '*' and '?' match across folders; a pattern naming a folder takes all under it), placed under
// `to` with their paths kept.
struct ToolSpec {
  SourceRef from;
  std::vector<std::string> take;
  std::string to = "\\";
};

// A folder (or file) placed at an image path.
struct PlacedSpec {
  SourceRef from;
  std::string to;  // an ImagePath
};

struct Recipe {
  std::string file;    // the recipe's path
  std::string folder;  // where relative inputs are looked up
  std::string name, version, description;
  BaseSpec base;
  std::vector<ToolSpec> tools;
  std::vector<PlacedSpec> drivers;  // default target \Drivers\<folder name>
  std::vector<PlacedSpec> files;
  std::optional<PlacedSpec> debugging_tools, definitions, symbols;
  std::string startup_run;  // the command start-up ends with; empty: a command prompt
  int startup_line = 0;
  std::vector<PlacedSpec> startup_config;
  std::string expires;  // YYYY-MM-DD, or empty
  int expires_line = 0;

  // The build-machine path a recipe path stands for.
  [[nodiscard]] std::string Resolve(const SourceRef& ref) const;
  // "recipe.yaml:12": where an entry was written.
  [[nodiscard]] std::string Where(int line) const;
};

// Reads the recipe at `path`. Errors: kNotFound (no file), kInvalidArgument naming the file, the
// line and the key: YAML syntax, an unknown or repeated key, a value of the wrong kind, a missing
// name, version or base, a bad version, date or target path.
[[nodiscard]] Result<Recipe> ReadRecipe(const std::string& path);
// The same from text (`file` names it in messages; relative paths are relative to `folder`).
[[nodiscard]] Result<Recipe> ParseRecipe(const std::string& text, const std::string& file,
                                         const std::string& folder);

// Default image folders for what the recipe names without a `to` (docs/image-build.md).
inline constexpr const char* kDriversFolder = "\\Drivers";
inline constexpr const char* kDefinitionsFolder = "\\Definitions";
inline constexpr const char* kSymbolsFolder = "\\Symbols";
// Where the Debugging Tools for Windows install themselves, which is where Crash Analyzer looks.
[[nodiscard]] std::string DebuggingToolsFolder(const std::string& architecture);

}  // namespace lifeboat::compose
