#include "compose/recipe.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "common/files.h"
#include "common/image_manifest.h"
#include "common/version.h"
#include "compose/image_path.h"

namespace lifeboat::compose {

namespace {

// A recipe mistake, thrown inside this file only and turned into an Error at its edge (as
// yaml-cpp's own exceptions are).
struct RecipeMistake {
  int line;
  std::string message;
};

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

[[noreturn]] void Mistake(const YAML::Node& node, const std::string& message) {
  throw RecipeMistake{LineOf(node), message};
}

// The keys of a mapping, each checked against `known` and seen once.
void CheckKeys(const YAML::Node& map, const std::string& what, const std::set<std::string>& known) {
  if (!map.IsMap()) Mistake(map, what + ": expected a mapping ({ key: value, ... })");
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    if (!known.contains(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      Mistake(entry.first, what + (what.empty() ? "" : ": ") + "unknown key " + Quoted(key) +
                               " (known: " + list + ")");
    }
    if (!seen.insert(key).second)
      Mistake(entry.first, what + ": key " + Quoted(key) + " given twice");
  }
}

std::string Scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) Mistake(node, what + ": expected a single value");
  return node.Scalar();
}

std::string NonEmpty(const YAML::Node& node, const std::string& what) {
  std::string value = Scalar(node, what);
  if (value.empty()) Mistake(node, what + ": empty");
  return value;
}

std::string TargetPath(const YAML::Node& node, const std::string& what) {
  auto path = ImagePath(Scalar(node, what));
  if (!path) Mistake(node, what + ": " + path.error().message);
  return *path;
}

SourceRef Source(const YAML::Node& node, const std::string& what) {
  return {NonEmpty(node, what), LineOf(node)};
}

// `key: PATH` or `key: { from: PATH, to: IMAGE-PATH }`; `to` is "" when not given.
PlacedSpec Placed(const YAML::Node& node, const std::string& what, bool to_required) {
  if (node.IsScalar() && !to_required) return {Source(node, what), ""};
  CheckKeys(node, what, {"from", "to"});
  if (!node["from"]) Mistake(node, what + ": needs from");
  if (to_required && !node["to"]) Mistake(node, what + ": needs to (the path in the image)");
  return {Source(node["from"], what + ".from"),
          node["to"] ? TargetPath(node["to"], what + ".to") : std::string()};
}

std::vector<PlacedSpec> PlacedList(const YAML::Node& node, const std::string& what,
                                   bool to_required) {
  if (!node.IsSequence()) Mistake(node, what + ": expected a list ([ ... ] or - items)");
  std::vector<PlacedSpec> list;
  for (size_t i = 0; i < node.size(); ++i)
    list.push_back(Placed(node[i], what + "[" + std::to_string(i + 1) + "]", to_required));
  return list;
}

BaseSpec Base(const YAML::Node& node) {
  CheckKeys(node, "base", {"image", "iso", "path", "index"});
  BaseSpec base;
  base.line = LineOf(node);
  if (node["image"].IsDefined() == node["iso"].IsDefined())
    Mistake(node, "base: give either image (a WIM) or iso (an ISO holding one)");
  if (node["image"]) base.image = Source(node["image"], "base.image");
  if (node["iso"]) base.iso = Source(node["iso"], "base.iso");
  if (node["path"]) {
    if (!node["iso"]) Mistake(node["path"], "base.path: only with iso (the WIM's path inside it)");
    auto parts = RelativeComponents(NonEmpty(node["path"], "base.path"));
    if (!parts) Mistake(node["path"], "base.path: " + parts.error().message);
    base.iso_path.clear();
    for (const auto& part : *parts) base.iso_path += (base.iso_path.empty() ? "" : "/") + part;
  }
  if (node["index"]) {
    const std::string text = Scalar(node["index"], "base.index");
    unsigned value = 0;
    bool ok = !text.empty() && text.size() <= 4;
    for (char c : text) ok = ok && c >= '0' && c <= '9';
    if (ok) value = static_cast<unsigned>(std::stoul(text));
    if (!ok || value == 0)
      Mistake(node["index"], "base.index: " + Quoted(text) + " is not an image number (1, 2, ...)");
    base.index = value;
  }
  return base;
}

std::vector<ToolSpec> Tools(const YAML::Node& node) {
  if (!node.IsSequence()) Mistake(node, "tools: expected a list of { from, take }");
  std::vector<ToolSpec> tools;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string what = "tools[" + std::to_string(i + 1) + "]";
    const YAML::Node& item = node[i];
    CheckKeys(item, what, {"from", "take", "to"});
    if (!item["from"] || !item["take"])
      Mistake(item, what + ": needs from (a folder, ZIP or CAB) and take (what to take from it)");
    ToolSpec tool;
    tool.from = Source(item["from"], what + ".from");
    const YAML::Node take = item["take"];
    if (take.IsScalar()) {
      tool.take.push_back(NonEmpty(take, what + ".take"));
    } else if (take.IsSequence() && take.size() > 0) {
      for (const auto& pattern : take) tool.take.push_back(NonEmpty(pattern, what + ".take"));
    } else {
      Mistake(take, what + ".take: expected a list of names or patterns, such as [\"*\"]");
    }
    if (item["to"]) tool.to = TargetPath(item["to"], what + ".to");
    tools.push_back(std::move(tool));
  }
  return tools;
}

void Startup(const YAML::Node& node, Recipe& recipe) {
  CheckKeys(node, "startup", {"run", "config"});
  recipe.startup_line = LineOf(node);
  if (node["run"]) {
    recipe.startup_run = NonEmpty(node["run"], "startup.run");
    if (recipe.startup_run.find_first_of("\r\n") != std::string::npos)
      Mistake(node["run"], "startup.run: one command line, without line breaks");
  }
  if (node["config"]) recipe.startup_config = PlacedList(node["config"], "startup.config", true);
}

Recipe Parse(const YAML::Node& root, Recipe recipe) {
  if (!root.IsMap())
    throw RecipeMistake{1, "a recipe is a mapping of keys (name:, version:, base:, ...)"};
  CheckKeys(root, "",
            {"name", "version", "description", "base", "tools", "drivers", "files",
             "debugging_tools", "definitions", "symbols", "startup", "expires"});
  for (const char* required : {"name", "version", "base"})
    if (!root[required]) throw RecipeMistake{1, std::string("the recipe needs ") + required};
  recipe.name = NonEmpty(root["name"], "name");
  recipe.version = NonEmpty(root["version"], "version");
  if (!ValidName(recipe.version))
    Mistake(root["version"], "version: " + Quoted(recipe.version) +
                                 " is not a version (1 to 64 of A-Z a-z 0-9 . _ -)");
  if (root["description"]) recipe.description = Scalar(root["description"], "description");
  for (const std::string* text : {&recipe.name, &recipe.description})
    if (text->find_first_of("\r\n") != std::string::npos)
      throw RecipeMistake{LineOf(root["name"]), "name and description: one line each"};
  recipe.base = Base(root["base"]);
  if (root["tools"]) recipe.tools = Tools(root["tools"]);
  if (root["drivers"]) recipe.drivers = PlacedList(root["drivers"], "drivers", false);
  if (root["files"]) recipe.files = PlacedList(root["files"], "files", true);
  if (root["debugging_tools"])
    recipe.debugging_tools = Placed(root["debugging_tools"], "debugging_tools", false);
  if (root["definitions"]) recipe.definitions = Placed(root["definitions"], "definitions", false);
  if (root["symbols"]) recipe.symbols = Placed(root["symbols"], "symbols", false);
  if (root["startup"]) Startup(root["startup"], recipe);
  if (root["expires"]) {
    recipe.expires = Scalar(root["expires"], "expires");
    recipe.expires_line = LineOf(root["expires"]);
    if (!IsDate(recipe.expires))
      Mistake(root["expires"],
              "expires: " + Quoted(recipe.expires) + " is not a date (YYYY-MM-DD)");
  }
  return recipe;
}

}  // namespace

std::string Recipe::Resolve(const SourceRef& ref) const {
  const std::filesystem::path path(ref.written);
  return path.is_absolute() ? ref.written : (std::filesystem::path(folder) / path).string();
}

std::string Recipe::Where(int line) const { return file + ":" + std::to_string(line); }

Result<Recipe> ParseRecipe(const std::string& text, const std::string& file,
                           const std::string& folder) {
  Recipe recipe;
  recipe.file = file;
  recipe.folder = folder;
  try {
    return Parse(YAML::Load(text), std::move(recipe));
  } catch (const RecipeMistake& m) {
    return Fail(ErrorCode::kInvalidArgument,
                file + ":" + std::to_string(m.line) + ": " + m.message);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kInvalidArgument,
                file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
}

Result<Recipe> ReadRecipe(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return Fail(ErrorCode::kNotFound, path + ": cannot read the recipe");
  const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  return ParseRecipe(*text, path, folder.string());
}

std::string DebuggingToolsFolder(const std::string& architecture) {
  return "\\Program Files\\Debugging Tools for Windows (" + architecture + ")";
}

}  // namespace lifeboat::compose
