// What each input of a recipe holds, read from the build machine before anything is planned:
// a folder's files (symbolic links refused: they could pull any file of the build machine into an
// image end users can reach), an archive's members (libarchive), a single file. INF files of
// driver inputs are read here too, so that planning stays pure. Blocks on the file system.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/archive_reader.h"
#include "common/error.h"
#include "compose/inf_file.h"
#include "compose/recipe.h"

namespace lifeboat::compose {

enum class InputRole { kTool, kDriver, kFile, kDebuggingTools, kDefinitions, kSymbols, kConfig };
const char* InputRoleName(InputRole role);  // "tools", "drivers", ... as the recipe's keys

enum class InputKind { kFolder, kArchive, kFile };

struct InputEntry {
  std::string path;  // relative to the folder, or the archive member's stored path
  uint64_t size = 0;
  ArchiveMember::Kind kind = ArchiveMember::Kind::kFile;
  std::optional<Result<InfInfo>> inf;  // for .inf files of driver inputs
};

struct Input {
  InputRole role;
  size_t position = 0;  // its place in the recipe's list (0 for single keys)
  SourceRef from;
  std::string path;  // resolved on the build machine
  InputKind kind = InputKind::kFile;
  std::vector<InputEntry> entries;  // sorted by path; one, path "", for a single file
  // The recipe entry: ToolSpec's take and to, or PlacedSpec's to.
  std::vector<std::string> take;
  std::string to;
};

// Every input the recipe names (not the base), in recipe order. Errors name the recipe line and
// the input: kNotFound (missing), kCorrupt (a damaged archive), kUnsupported (a symbolic link or
// special file in a folder, a file where a folder is needed).
[[nodiscard]] Result<std::vector<Input>> ScanInputs(const Recipe& recipe);

}  // namespace lifeboat::compose
