// The agent's JSON of `winre show` (the shape winre_show of docs/json.schema.json); the rest of
// the agent's JSON is in json_codec.cpp.
#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include "agent/json_codec.h"
#include "proto/api_json.h"

namespace lifeboat::agent {

using Poco::JSON::Object;
using namespace partition;

namespace {

std::string Stringify(const Object::Ptr& object) { return api::Text(object, true); }

}  // namespace

std::string WinReSummaryToJson(const DiskModel& d, const WinReSummary& s) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("disk", d.path);
  o->set("label", std::string(LabelName(d.label)));
  if (s.winre == nullptr) {
    o->set("winre", Poco::Dynamic::Var());
  } else {
    const Partition& p = *s.winre;
    Object::Ptr w = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    w->set("partition", p.number);
    w->set("start_sector", p.start.value);
    w->set("size_sectors", p.size.count);
    w->set("start_bytes", ToBytes(p.start, d.sector_size).value);
    w->set("size_bytes", ToBytes(p.size, d.sector_size).value);
    w->set("type", p.type);
    w->set("attributes", Hex64(p.attributes));
    w->set("uuid", p.uuid);
    w->set("filesystem", std::string(FilesystemName(p.filesystem)));
    const bool volume = p.ntfs && p.ntfs->volume_size;
    w->set("volume_size_bytes",
           volume ? Poco::Dynamic::Var(p.ntfs->volume_size->value) : Poco::Dynamic::Var());
    w->set("free_bytes", s.free ? Poco::Dynamic::Var(s.free->value) : Poco::Dynamic::Var());
    w->set("follows_windows", s.follows_windows);
    w->set("room_behind_bytes", ToBytes(s.room_behind, d.sector_size).value);
    o->set("winre", w);
  }
  o->set("update_free_bytes", kWinReUpdateFree.value);
  o->set("missing_bytes", s.missing ? Poco::Dynamic::Var(s.missing->value) : Poco::Dynamic::Var());
  return Stringify(o);
}

}  // namespace lifeboat::agent
