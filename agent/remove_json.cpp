// The agent's JSON of `remove` (the shape remove_result of docs/json.schema.json).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "agent/json_codec.h"
#include "proto/api_json.h"

namespace lifeboat::agent {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

Array::Ptr Strings(const std::vector<std::string>& values) {
  Array::Ptr a = new Array;
  for (const auto& v : values) a->add(v);
  return a;
}

}  // namespace

std::string RemoveReportToJson(const RemoveReport& r) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("disk", r.disk);
  o->set("result", r.result);
  o->set("reclaim", r.reclaim);
  o->set("version", r.version);
  Object::Ptr bcd = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  bcd->set("store", r.store);
  bcd->set("removed_objects", Strings(r.removed_objects));
  bcd->set("changed_objects", Strings(r.changed_objects));
  o->set("bcd", bcd);
  // The partition plan in the shape partition_plan, as `disk plan` prints it.
  Poco::JSON::Parser parser;
  o->set("partition_plan", parser.parse(PlanToJson(r.partition_plan)).extract<Object::Ptr>());
  o->set("steps", Strings(r.steps));
  o->set("notes", Strings(r.notes));
  return api::Text(o, true);
}

}  // namespace lifeboat::agent
