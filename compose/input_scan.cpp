#include "compose/input_scan.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/files.h"

namespace lifeboat::compose {

namespace fs = std::filesystem;

const char* InputRoleName(InputRole role) {
  switch (role) {
    case InputRole::kTool:
      return "tools";
    case InputRole::kDriver:
      return "drivers";
    case InputRole::kFile:
      return "files";
    case InputRole::kDebuggingTools:
      return "debugging_tools";
    case InputRole::kDefinitions:
      return "definitions";
    case InputRole::kSymbols:
      return "symbols";
    case InputRole::kConfig:
      return "startup.config";
  }
  return "?";
}

namespace {

bool EndsWithInf(const std::string& path) {
  if (path.size() < 4) return false;
  std::string tail = path.substr(path.size() - 4);
  std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
  return tail == ".inf";
}

Result<std::vector<InputEntry>> ListFolder(const std::string& root) {
  std::vector<InputEntry> entries;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return Fail(ErrorCode::kIo, "cannot read " + root + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Fail(ErrorCode::kIo, "cannot read " + root + ": " + ec.message());
    const fs::file_status status = it->symlink_status(ec);
    const std::string relative = fs::relative(it->path(), root).generic_string();
    if (fs::is_symlink(status))
      return Fail(ErrorCode::kUnsupported,
                  it->path().string() +
                      " is a symbolic link: links are not followed, so that "
                      "nothing outside the folder enters the image");
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status))
      return Fail(ErrorCode::kUnsupported, it->path().string() + " is not a regular file");
    entries.push_back({relative, static_cast<uint64_t>(fs::file_size(it->path(), ec)),
                       ArchiveMember::Kind::kFile, std::nullopt});
  }
  std::sort(entries.begin(), entries.end(),
            [](const InputEntry& a, const InputEntry& b) { return a.path < b.path; });
  return entries;
}

Result<Input> Scan(const Recipe& recipe, InputRole role, size_t position, const SourceRef& from,
                   std::vector<std::string> take, std::string to) {
  Input input{role, position,        from,         recipe.Resolve(from), InputKind::kFile,
              {},   std::move(take), std::move(to)};
  const std::string what =
      recipe.Where(from.line) + ": " + InputRoleName(role) + ": " + from.written;
  struct stat st {};
  if (lstat(input.path.c_str(), &st) != 0)
    return Fail(ErrorCode::kNotFound, what + ": not there (" + input.path + ")");
  if (S_ISLNK(st.st_mode) && stat(input.path.c_str(), &st) != 0)
    return Fail(ErrorCode::kNotFound, what + ": a dangling symbolic link");
  const bool archive_allowed = role == InputRole::kTool;
  if (S_ISDIR(st.st_mode)) {
    input.kind = InputKind::kFolder;
    auto entries = ListFolder(input.path);
    if (!entries) return std::unexpected(entries.error().Context(what));
    input.entries = std::move(*entries);
  } else if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kUnsupported, what + ": not a file or folder");
  } else if (archive_allowed) {
    input.kind = InputKind::kArchive;
    auto members = ListArchive(input.path);
    if (!members) return std::unexpected(members.error().Context(what));
    for (const auto& m : *members) input.entries.push_back({m.path, m.size, m.kind, std::nullopt});
  } else if (role == InputRole::kFile || role == InputRole::kConfig) {
    input.entries.push_back(
        {"", static_cast<uint64_t>(st.st_size), ArchiveMember::Kind::kFile, std::nullopt});
  } else {
    return Fail(ErrorCode::kUnsupported, what + ": expected a folder");
  }
  if (role == InputRole::kDriver) {
    for (auto& entry : input.entries) {
      if (!EndsWithInf(entry.path)) continue;
      auto bytes = ReadTextFile(input.path + "/" + entry.path);
      if (!bytes) return Fail(ErrorCode::kIo, what + ": cannot read " + entry.path);
      entry.inf = ReadInf(*bytes);
    }
  }
  return input;
}

}  // namespace

Result<std::vector<Input>> ScanInputs(const Recipe& recipe) {
  std::vector<Input> inputs;
  auto add = [&](Result<Input> input) -> Result<void> {
    if (!input) return std::unexpected(input.error());
    inputs.push_back(std::move(*input));
    return {};
  };
  for (size_t i = 0; i < recipe.tools.size(); ++i)
    LIFEBOAT_TRY(add(Scan(recipe, InputRole::kTool, i, recipe.tools[i].from, recipe.tools[i].take,
                          recipe.tools[i].to)));
  for (size_t i = 0; i < recipe.drivers.size(); ++i)
    LIFEBOAT_TRY(
        add(Scan(recipe, InputRole::kDriver, i, recipe.drivers[i].from, {}, recipe.drivers[i].to)));
  for (size_t i = 0; i < recipe.files.size(); ++i)
    LIFEBOAT_TRY(
        add(Scan(recipe, InputRole::kFile, i, recipe.files[i].from, {}, recipe.files[i].to)));
  const std::pair<InputRole, const std::optional<PlacedSpec>*> folders[] = {
      {InputRole::kDebuggingTools, &recipe.debugging_tools},
      {InputRole::kDefinitions, &recipe.definitions},
      {InputRole::kSymbols, &recipe.symbols}};
  for (const auto& [role, spec] : folders)
    if (*spec) LIFEBOAT_TRY(add(Scan(recipe, role, 0, (*spec)->from, {}, (*spec)->to)));
  for (size_t i = 0; i < recipe.startup_config.size(); ++i)
    LIFEBOAT_TRY(add(Scan(recipe, InputRole::kConfig, i, recipe.startup_config[i].from, {},
                          recipe.startup_config[i].to)));
  return inputs;
}

}  // namespace lifeboat::compose
