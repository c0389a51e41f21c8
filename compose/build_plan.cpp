#include "compose/build_plan.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/version.h"
#include "compose/image_path.h"

namespace lifeboat::compose {

namespace {

std::string Slashes(std::string path) {
  std::replace(path.begin(), path.end(), '\\', '/');
  while (path.rfind("./", 0) == 0) path.erase(0, 2);
  return path;
}

// A `take` pattern matches a member's path (case-insensitively, '*' crossing folders) or names a
// folder that holds it.
bool Takes(const std::string& pattern, const std::string& member) {
  const std::string p = Slashes(pattern), m = Slashes(member);
  if (fnmatch(p.c_str(), m.c_str(), FNM_CASEFOLD) == 0) return true;
  std::string folder = p;
  while (!folder.empty() && folder.back() == '/') folder.pop_back();
  return !folder.empty() && m.size() > folder.size() && m[folder.size()] == '/' &&
         fnmatch(folder.c_str(), m.substr(0, folder.size()).c_str(), FNM_CASEFOLD) == 0;
}

std::string FolderName(const std::string& written) {
  std::string trimmed = written;
  while (trimmed.size() > 1 && (trimmed.back() == '/' || trimmed.back() == '\\'))
    trimmed.pop_back();
  return std::filesystem::path(trimmed).filename().string();
}

// Where an input's files go when the recipe does not say.
Result<std::string> DefaultTarget(const Input& input, const std::string& architecture) {
  switch (input.role) {
    case InputRole::kDriver:
      return ImagePath(std::string(kDriversFolder) + "\\" + FolderName(input.from.written));
    case InputRole::kDebuggingTools:
      return DebuggingToolsFolder(architecture);
    case InputRole::kDefinitions:
      return std::string(kDefinitionsFolder);
    case InputRole::kSymbols:
      return std::string(kSymbolsFolder);
    default:
      return std::string("\\");
  }
}

class Planner {
 public:
  Planner(const Recipe& recipe, const std::vector<Input>& inputs)
      : recipe_(recipe), inputs_(inputs) {
    for (const char* generated : {kStartnetPath, kWinpeshlPath, kBuildManifestPath})
      Claim(generated, SIZE_MAX);
  }

  std::string What(const Input& input) const {
    return recipe_.Where(input.from.line) + ": " + InputRoleName(input.role) + ": " +
           input.from.written;
  }

  // Places entry `entry` of input `index` at `target`, unless something is there already.
  Result<void> Place(size_t index, size_t entry, const std::string& target) {
    const std::string canonical = Canonical(target);
    const std::string key = ImagePathKey(canonical);
    if (auto other = files_.find(key); other != files_.end()) {
      const std::string by = other->second == SIZE_MAX ? std::string("the build itself (start-up)")
                                                       : What(inputs_[other->second]);
      return Fail(ErrorCode::kInvalidArgument, What(inputs_[index]) + ": puts a file at " +
                                                   canonical + ", where " + by + " puts one too");
    }
    if (folders_.contains(key))
      return Fail(ErrorCode::kInvalidArgument, What(inputs_[index]) + ": puts a file at " +
                                                   canonical + ", a folder for other inputs");
    for (std::string parent = ParentImagePath(canonical); !parent.empty();
         parent = ParentImagePath(parent)) {
      if (auto file = files_.find(ImagePathKey(parent)); file != files_.end())
        return Fail(ErrorCode::kInvalidArgument,
                    What(inputs_[index]) + ": needs " + parent + " to be a folder, but " +
                        (file->second == SIZE_MAX ? std::string("the build")
                                                  : What(inputs_[file->second])) +
                        " puts a file there");
    }
    Claim(canonical, index);
    plan_.placements.push_back({canonical, index, entry});
    return {};
  }

  BuildPlan& plan() { return plan_; }

 private:
  // The path with each folder spelled as the first input that used it spelled it.
  std::string Canonical(const std::string& target) {
    std::string built;
    size_t start = 1;
    while (start <= target.size()) {
      size_t end = target.find('\\', start);
      if (end == std::string::npos) end = target.size();
      std::string next = built + "\\" + target.substr(start, end - start);
      if (end < target.size()) {
        auto [spelling, fresh] = spellings_.emplace(ImagePathKey(next), next);
        next = spelling->second;
      }
      built = next;
      start = end + 1;
    }
    return built.empty() ? "\\" : built;
  }

  void Claim(const std::string& path, size_t index) {
    files_[ImagePathKey(path)] = index;
    for (std::string parent = ParentImagePath(path); !parent.empty() && parent != "\\";
         parent = ParentImagePath(parent)) {
      folders_.insert(ImagePathKey(parent));
      spellings_.emplace(ImagePathKey(parent), parent);
    }
  }

  const Recipe& recipe_;
  const std::vector<Input>& inputs_;
  BuildPlan plan_;
  std::map<std::string, size_t> files_;  // key → input (SIZE_MAX: the build's own files)
  std::set<std::string> folders_;
  std::map<std::string, std::string> spellings_;
};

Result<std::vector<size_t>> Selected(const Planner& planner, const Input& input) {
  std::vector<size_t> chosen;
  if (input.take.empty()) {
    for (size_t i = 0; i < input.entries.size(); ++i)
      if (input.entries[i].kind != ArchiveMember::Kind::kDirectory) chosen.push_back(i);
    return chosen;
  }
  std::set<size_t> taken;
  for (const auto& pattern : input.take) {
    bool matched = false;
    for (size_t i = 0; i < input.entries.size(); ++i) {
      const InputEntry& entry = input.entries[i];
      if (entry.kind == ArchiveMember::Kind::kDirectory || !Takes(pattern, entry.path)) continue;
      matched = true;
      taken.insert(i);
    }
    if (!matched)
      return Fail(ErrorCode::kNotFound,
                  planner.What(input) + ": take " + Quoted(pattern) + " matches nothing in it");
  }
  return std::vector<size_t>(taken.begin(), taken.end());
}

std::string Listed(const std::set<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? std::string("no architecture") : list;
}

std::string Crlf(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\r\n";
  return text;
}

std::string RunningPath(const std::string& image_path) { return "X:" + image_path; }

void WriteStartup(const Recipe& recipe, const std::string& architecture, BuildPlan& plan) {
  std::vector<std::string> lines = {
      "@echo off",
      "rem Start-up of " + recipe.name + " " + recipe.version +
          ", written by lifeboatctl image build (docs/image-build.md).",
      "wpeinit"};
  for (const auto& [name, value] : plan.environment) lines.push_back("set " + name + "=" + value);
  lines.push_back("echo " + recipe.name + " " + recipe.version + " (" + architecture + ")");
  if (!recipe.expires.empty())
    lines.push_back("echo This recovery image expires on " + recipe.expires +
                    ". Do not use it after that date.");
  for (const auto& load : plan.driver_loads)
    lines.push_back("drvload \"" + RunningPath(load.inf) + "\"");
  if (!recipe.startup_run.empty()) lines.push_back(recipe.startup_run);
  plan.startnet_cmd = Crlf(lines);
  // winpeshl.ini decides what WinPE starts; one in the base (DaRT images have their own) would
  // otherwise skip startnet.cmd. The prompt stays open after the tool, as WinPE's default does.
  plan.winpeshl_ini = Crlf(
      {"[LaunchApps]", "%SYSTEMROOT%\\System32\\cmd.exe, /k %SYSTEMROOT%\\System32\\startnet.cmd"});
}

}  // namespace

Result<BuildPlan> MakeBuildPlan(const Recipe& recipe, const std::string& architecture,
                                const std::vector<Input>& inputs) {
  Planner planner(recipe, inputs);
  for (size_t index = 0; index < inputs.size(); ++index) {
    const Input& input = inputs[index];
    std::string base = input.to;
    if (base.empty()) {
      auto target = DefaultTarget(input, architecture);
      if (!target) return std::unexpected(target.error().Context(planner.What(input)));
      base = *target;
    }
    auto chosen = Selected(planner, input);
    if (!chosen) return std::unexpected(chosen.error());
    bool has_inf = false;
    for (size_t entry_index : *chosen) {
      const InputEntry& entry = input.entries[entry_index];
      std::string target = base;
      if (input.kind != InputKind::kFile) {
        if (entry.kind != ArchiveMember::Kind::kFile)
          return Fail(ErrorCode::kUnsupported, planner.What(input) + ": " + Quoted(entry.path) +
                                                   " is a link or special file: not taken");
        auto components = RelativeComponents(entry.path);
        if (!components)
          return Fail(ErrorCode::kUnsupported, planner.What(input) + ": member " +
                                                   components.error().message + "; nothing taken");
        target = JoinImagePath(base, *components);
      } else if (base == "\\") {
        return Fail(ErrorCode::kInvalidArgument,
                    planner.What(input) + ": a file needs `to`, its path in the image");
      }
      LIFEBOAT_TRY(planner.Place(index, entry_index, target));
      if (!entry.inf) continue;
      has_inf = true;
      const std::string inf_target = planner.plan().placements.back().target;
      if (!*entry.inf)
        return Fail(ErrorCode::kUnsupported,
                    planner.What(input) + ": " + entry.path + " " + entry.inf->error().message);
      const auto& archs = (*entry.inf)->architectures;
      if (!archs.contains(architecture))
        return Fail(ErrorCode::kUnsupported, planner.What(input) + ": " + entry.path +
                                                 " is a driver for " + Listed(archs) +
                                                 ", not for the base image's " + architecture +
                                                 " (its [Manufacturer] section has no NT" +
                                                 InfArchitecture(architecture) + " models)");
      planner.plan().driver_loads.push_back({inf_target,
                                             std::vector<std::string>(archs.begin(), archs.end()),
                                             (*entry.inf)->driver_class, index});
    }
    if (input.role == InputRole::kDriver && !has_inf)
      return Fail(ErrorCode::kNotFound,
                  planner.What(input) + ": no .inf file in it: not a driver package");
    if (input.role == InputRole::kDebuggingTools)
      planner.plan().environment.push_back({"PATH", "%PATH%;" + RunningPath(base)});
    if (input.role == InputRole::kSymbols)
      planner.plan().environment.push_back({"_NT_SYMBOL_PATH", RunningPath(base)});
  }
  BuildPlan plan = std::move(planner.plan());
  std::sort(plan.placements.begin(), plan.placements.end(),
            [](const Placement& a, const Placement& b) {
              return ImagePathKey(a.target) < ImagePathKey(b.target);
            });
  WriteStartup(recipe, architecture, plan);
  return plan;
}

}  // namespace lifeboat::compose
