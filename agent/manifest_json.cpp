// The manifest Lifeboat keeps beside each installed image on its partition, as JSON; the rest
// of the agent's JSON is in json_codec.cpp.
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "agent/json_codec.h"
#include "proto/api_json.h"

namespace lifeboat::agent {

using Poco::JSON::Object;

namespace {

std::string Stringify(const Object::Ptr& object) { return api::Text(object, true); }

}  // namespace

std::string ManifestToJson(const Manifest& m) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("format", 1);
  o->set("version", m.version);
  o->set("sha256", m.sha256);
  o->set("size_bytes", m.size);
  o->set("sdi_sha256", m.sdi_sha256);
  o->set("name", m.name);
  o->set("description", m.description);
  o->set("architecture", m.architecture);
  return Stringify(o);
}

Result<Manifest> ManifestFromJson(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(json).extract<Object::Ptr>();
    Manifest m;
    m.version = o->getValue<std::string>("version");
    m.sha256 = o->getValue<std::string>("sha256");
    m.size = o->getValue<uint64_t>("size_bytes");
    m.sdi_sha256 = o->getValue<std::string>("sdi_sha256");
    m.name = o->optValue<std::string>("name", "");
    m.description = o->optValue<std::string>("description", "");
    m.architecture = o->optValue<std::string>("architecture", "");
    return m;
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kCorrupt, "manifest: " + e.displayText());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kCorrupt, std::string("manifest: ") + e.what());
  }
}

}  // namespace lifeboat::agent
