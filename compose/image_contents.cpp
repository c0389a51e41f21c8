#include "compose/image_contents.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "common/sha256.h"

namespace lifeboat::compose {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::vector<std::string> Paths(const Object::Ptr& input) {
  std::vector<std::string> paths;
  if (!input) return paths;
  auto files = input->getArray("files");
  for (size_t i = 0; files && i < files->size(); ++i)
    paths.push_back(files->getObject(i)->getValue<std::string>("path"));
  return paths;
}

void Append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

}  // namespace

Result<ImageContents> ParseImageContents(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(text).extract<Object::Ptr>();
    if (!root || root->optValue<int>("lifeboat_build_manifest", 0) != 1)
      return Fail(ErrorCode::kCorrupt, "build manifest: not format 1 of lifeboat_build_manifest");
    ImageContents c;
    c.name = root->getValue<std::string>("name");
    c.version = root->getValue<std::string>("version");
    c.description = root->optValue<std::string>("description", "");
    c.architecture = root->optValue<std::string>("architecture", "");
    if (!root->isNull("expires")) c.expires = root->getValue<std::string>("expires");
    if (!c.expires.empty() && !IsDate(c.expires))
      return Fail(ErrorCode::kCorrupt, "build manifest: expires is not a date");
    auto tools = root->getArray("tools");
    for (size_t i = 0; tools && i < tools->size(); ++i) Append(c.tools, Paths(tools->getObject(i)));
    auto drivers = root->getArray("drivers");
    for (size_t i = 0; drivers && i < drivers->size(); ++i) {
      auto infs = drivers->getObject(i)->getArray("infs");
      for (size_t k = 0; infs && k < infs->size(); ++k) {
        auto inf = infs->getObject(k);
        ImageContents::Driver driver{
            inf->getValue<std::string>("path"), {}, inf->optValue<std::string>("class", "")};
        auto archs = inf->getArray("architectures");
        for (size_t a = 0; archs && a < archs->size(); ++a)
          driver.architectures.push_back(archs->getElement<std::string>(static_cast<unsigned>(a)));
        c.drivers.push_back(driver);
      }
    }
    auto files = root->getArray("files");
    for (size_t i = 0; files && i < files->size(); ++i) Append(c.files, Paths(files->getObject(i)));
    for (const char* key : {"debugging_tools", "definitions", "symbols"})
      if (root->has(key) && !root->isNull(key)) Append(c.files, Paths(root->getObject(key)));
    if (auto startup = root->getObject("startup")) {
      c.startup_run = startup->optValue<std::string>("run", "");
      auto config = startup->getArray("config");
      for (size_t i = 0; config && i < config->size(); ++i)
        Append(c.files, Paths(config->getObject(i)));
    }
    return c;
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kCorrupt, "build manifest: " + e.displayText());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kCorrupt, std::string("build manifest: ") + e.what());
  }
}

Result<ImageManifest> ManifestOf(const image::ImageInfo& image, const std::string& version) {
  ImageManifest manifest{version,
                         image.sha256,
                         image.size.value,
                         image.name,
                         image.description,
                         image.architecture,
                         {},
                         {}};
  if (image.build_manifest.empty()) return manifest;
  auto contents = ParseImageContents(image.build_manifest);
  if (!contents) return std::unexpected(contents.error().Context(image.path));
  manifest.expires = contents->expires;
  manifest.contents_sha256 = Sha256Hex(
      {reinterpret_cast<const uint8_t*>(image.build_manifest.data()), image.build_manifest.size()});
  return manifest;
}

Result<void> RefuseExpired(const image::ImageInfo& image, const std::string& today,
                           const std::string& what_happens) {
  if (image.build_manifest.empty()) return {};
  auto contents = ParseImageContents(image.build_manifest);
  if (!contents) return Fail(ErrorCode::kUnsupported, image.path + ": " + contents.error().message);
  if (Expired(contents->expires, today))
    return Refuse("image-expired", image.path + " expired on " + contents->expires +
                                       " (its build's `expires`): " + what_happens);
  return {};
}

}  // namespace lifeboat::compose
