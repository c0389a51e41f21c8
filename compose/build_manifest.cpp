#include "compose/build_manifest.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <ctime>
#include <sstream>

#include "common/sha256.h"

namespace lifeboat::compose {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr NewObject() { return new Object(Poco::JSON_PRESERVE_KEY_ORDER); }

Object::Ptr InputObject(const ManifestParts& parts, size_t index) {
  const Input& input = parts.inputs[index];
  Object::Ptr out = NewObject();
  out->set("from", input.from.written);
  out->set("kind", input.kind == InputKind::kFolder    ? "folder"
                   : input.kind == InputKind::kArchive ? "archive"
                                                       : "file");
  if (!parts.input_hashes[index].empty()) out->set("sha256", parts.input_hashes[index]);
  if (!input.take.empty()) {
    Array::Ptr take = new Array;
    for (const auto& pattern : input.take) take->add(pattern);
    out->set("take", take);
  }
  Array::Ptr files = new Array;
  for (size_t i = 0; i < parts.plan.placements.size(); ++i) {
    const Placement& placement = parts.plan.placements[i];
    if (placement.input != index) continue;
    Object::Ptr file = NewObject();
    file->set("path", placement.target);
    if (input.kind != InputKind::kFile) file->set("from", input.entries[placement.entry].path);
    file->set("size", parts.hashes[i].size);
    file->set("sha256", parts.hashes[i].sha256);
    files->add(file);
  }
  out->set("files", files);
  if (input.role == InputRole::kDriver) {
    Array::Ptr infs = new Array;
    for (const auto& load : parts.plan.driver_loads) {
      if (load.input != index) continue;
      Object::Ptr inf = NewObject();
      inf->set("path", load.inf);
      Array::Ptr archs = new Array;
      for (const auto& arch : load.architectures) archs->add(arch);
      inf->set("architectures", archs);
      inf->set("class", load.driver_class);
      infs->add(inf);
    }
    out->set("infs", infs);
  }
  return out;
}

std::string Text(const Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out, 2);
  out << "\n";
  return out.str();
}

}  // namespace

std::string Rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string BuildManifestText(const ManifestParts& parts) {
  const Recipe& recipe = parts.recipe;
  Object::Ptr root = NewObject();
  root->set("lifeboat_build_manifest", kBuildManifestFormat);
  root->set("name", recipe.name);
  root->set("version", recipe.version);
  root->set("description", recipe.description);
  root->set("architecture", parts.base.image.architecture);
  if (recipe.expires.empty())
    root->set("expires", Poco::Dynamic::Var());
  else
    root->set("expires", recipe.expires);
  root->set("timestamp", Rfc3339(parts.timestamp));

  Object::Ptr base = NewObject();
  base->set("from",
            recipe.base.iso.written.empty() ? recipe.base.image.written : recipe.base.iso.written);
  base->set("kind", parts.base.kind);
  if (parts.base.kind == "iso") base->set("path", recipe.base.iso_path);
  base->set("sha256", parts.base.sha256);
  base->set("size", parts.base.size);
  base->set("index", parts.base.image.index);
  base->set("image_name", parts.base.image.name);
  base->set("compression", parts.base.image.compression);
  root->set("base", base);

  // Inputs under the recipe's own keys, in recipe order.
  for (InputRole role : {InputRole::kTool, InputRole::kDriver, InputRole::kFile}) {
    Array::Ptr list = new Array;
    for (size_t i = 0; i < parts.inputs.size(); ++i)
      if (parts.inputs[i].role == role) list->add(InputObject(parts, i));
    root->set(InputRoleName(role), list);
  }
  for (InputRole role :
       {InputRole::kDebuggingTools, InputRole::kDefinitions, InputRole::kSymbols}) {
    Poco::Dynamic::Var value;
    for (size_t i = 0; i < parts.inputs.size(); ++i)
      if (parts.inputs[i].role == role) value = InputObject(parts, i);
    root->set(InputRoleName(role), value);
  }

  Object::Ptr startup = NewObject();
  startup->set("run", recipe.startup_run);
  Array::Ptr config = new Array;
  for (size_t i = 0; i < parts.inputs.size(); ++i)
    if (parts.inputs[i].role == InputRole::kConfig) config->add(InputObject(parts, i));
  startup->set("config", config);
  Array::Ptr loads = new Array;
  for (const auto& load : parts.plan.driver_loads) loads->add(load.inf);
  startup->set("driver_loads", loads);
  Object::Ptr environment = NewObject();
  for (const auto& [name, value] : parts.plan.environment) environment->set(name, value);
  startup->set("environment", environment);
  Array::Ptr written = new Array;
  for (const char* path : {kStartnetPath, kWinpeshlPath}) written->add(std::string(path));
  startup->set("written", written);
  root->set("startup", startup);
  return Text(root);
}

std::string ManifestWithImage(const std::string& manifest_text, const std::string& image_sha256,
                              uint64_t image_size, const std::string& guid) {
  // A handler that keeps every object's key order, so the copy reads like the original.
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
  auto copy = parser.parse(manifest_text).extract<Object::Ptr>();
  Object::Ptr image = NewObject();
  image->set("sha256", image_sha256);
  image->set("size", image_size);
  image->set("guid", guid);
  copy->set("image", image);
  return Text(copy);
}

std::array<uint8_t, 16> GuidFor(const std::string& manifest_text) {
  Sha256 hash;
  const std::string label = "lifeboat image guid\n";
  hash.Update({reinterpret_cast<const uint8_t*>(label.data()), label.size()});
  hash.Update({reinterpret_cast<const uint8_t*>(manifest_text.data()), manifest_text.size()});
  const auto digest = hash.Digest();
  std::array<uint8_t, 16> guid{};
  std::copy_n(digest.begin(), 16, guid.begin());
  guid[6] = static_cast<uint8_t>((guid[6] & 0x0f) | 0x80);  // RFC 9562 version 8: custom
  guid[8] = static_cast<uint8_t>((guid[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return guid;
}

std::string GuidText(const std::array<uint8_t, 16>& g) {
  char text[40];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
                g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                g[15]);
  return text;
}

}  // namespace lifeboat::compose
