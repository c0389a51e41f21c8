#include "agent/json_codec.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstdio>
#include <sstream>

#include "bcd/describe.h"
#include "common/overloaded.h"
#include "partition/layout_check.h"
#include "proto/api_json.h"

namespace lifeboat::agent {

using Poco::JSON::Array;
using Poco::JSON::Object;
using namespace partition;

namespace {

std::string Stringify(const Object::Ptr& object) { return api::Text(object, true); }

Object::Ptr RegionJson(Lba start, Sectors size, uint32_t ss) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("start_sector", start.value);
  o->set("size_sectors", size.count);
  o->set("start_bytes", ToBytes(start, ss).value);
  o->set("size_bytes", ToBytes(size, ss).value);
  return o;
}

Object::Ptr StepJson(const Step& step, uint32_t ss) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("kind", std::string(StepKind(step)));
  o->set("description", DescribeStep(step, ss));
  std::visit(Overloaded{
                 [](const BackupTableStep&) {},
                 [&](const ShrinkNtfsStep& s) {
                   o->set("partition", s.number);
                   o->set("start_sector", s.start.value);
                   o->set("new_size_bytes", s.new_size.value);
                 },
                 [&](const ResizePartitionStep& s) {
                   o->set("partition", s.number);
                   o->set("old_size_sectors", s.old_size.count);
                   o->set("new_size_sectors", s.new_size.count);
                 },
                 [&](const MovePartitionStep& s) {
                   o->set("partition", s.number);
                   o->set("from_sector", s.from.value);
                   o->set("to_sector", s.to.value);
                   o->set("size_sectors", s.size.count);
                   o->set("uuid", s.uuid);
                 },
                 [&](const CreatePartitionStep& s) {
                   o->set("start_sector", s.start.value);
                   o->set("size_sectors", s.size.count);
                   o->set("type", s.type);
                   o->set("name", s.name);
                   o->set("attributes", Hex64(s.attributes));
                   if (!s.uuid.empty()) o->set("uuid", s.uuid);
                 },
                 [&](const FormatNtfsStep& s) {
                   o->set("start_sector", s.start.value);
                   o->set("size_sectors", s.size.count);
                   o->set("label", s.label);
                 },
                 [&](const RetargetWinReStep& s) {
                   o->set("partition", s.winre);
                   o->set("windows_partition", s.windows);
                   o->set("from_offset_bytes", s.from_offset.value);
                   o->set("to_offset_bytes", s.to_offset.value);
                 },
                 [&](const GrowNtfsStep& s) {
                   o->set("partition", s.number);
                   o->set("start_sector", s.start.value);
                   o->set("new_size_bytes", s.new_size.value);
                   if (s.own_check_flag) o->set("own_check_flag", true);
                 },
                 [&](const RestoreTableStep& s) { o->set("run", s.run); },
                 [&](const DeletePartitionStep& s) {
                   o->set("partition", s.number);
                   o->set("start_sector", s.start.value);
                   o->set("size_sectors", s.size.count);
                   o->set("type", s.type);
                   o->set("uuid", s.uuid);
                 },
             },
             step);
  return o;
}

Object::Ptr PlanObject(const Plan& plan) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("goal", std::string(PlanGoalName(plan.goal)));
  o->set("disk", plan.disk_path);
  o->set("disk_id", plan.disk_id);
  o->set("label", std::string(LabelName(plan.label)));
  o->set("sector_size", plan.sector_size);
  o->set("requested_size_bytes", plan.requested_size.value);
  o->set("nothing_to_do", plan.NothingToDo());
  o->set("recovery", RegionJson(plan.recovery_start, plan.recovery_size, plan.sector_size));
  o->set("recovery_uuid", plan.recovery_uuid);
  Array::Ptr steps = new Array;
  for (const auto& s : plan.steps) steps->add(StepJson(s, plan.sector_size));
  o->set("steps", steps);
  Array::Ptr notes = new Array;
  for (const auto& n : plan.notes) notes->add(n);
  o->set("notes", notes);
  return o;
}

uint64_t U64(const Object::Ptr& o, const std::string& key) {
  if (!o->has(key)) throw Poco::NotFoundException("missing field " + key);
  return o->getValue<uint64_t>(key);
}

}  // namespace

std::string Hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string DiskToJson(const DiskModel& d) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("disk", d.path);
  o->set("block_device", d.is_block_device);
  o->set("label", std::string(LabelName(d.label)));
  o->set("disk_id", d.disk_id);
  o->set("logical_sector_size", d.sector_size);
  o->set("physical_sector_size", d.physical_sector_size);
  o->set("size_bytes", d.Size().value);
  o->set("size_sectors", d.total.count);
  o->set("first_usable_sector", d.first_usable.value);
  o->set("last_usable_sector", d.last_usable.value);
  o->set("needs_repair", d.needs_repair);
  if (d.needs_repair) o->set("repair_reason", d.repair_reason);
  Array::Ptr problems = new Array;
  for (const auto& problem : CheckLayout(d)) {
    Object::Ptr j = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("rule", problem.rule);
    j->set("message", problem.message);
    problems->add(j);
  }
  o->set("problems", problems);
  Array::Ptr parts = new Array;
  for (const auto& p : d.partitions) {
    Object::Ptr j = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("number", p.number);
    j->set("start_sector", p.start.value);
    j->set("size_sectors", p.size.count);
    j->set("size_bytes", ToBytes(p.size, d.sector_size).value);
    j->set("type", p.type);
    if (d.label == LabelKind::kGpt) {
      j->set("attributes", Hex64(p.attributes));
      j->set("name", p.name);
      j->set("uuid", p.uuid);
    } else {
      j->set("bootable", p.bootable);
    }
    j->set("filesystem", std::string(FilesystemName(p.filesystem)));
    j->set("filesystem_label", p.fs_label);
    j->set("role", std::string(RoleName(p.role)));
    if (p.ntfs) {
      Object::Ptr n = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      n->set("has_windows_dir", p.ntfs->has_windows_dir);
      n->set("dirty", p.ntfs->dirty);
      n->set("hibernated", p.ntfs->hibernated);
      if (p.ntfs->volume_size) n->set("volume_size_bytes", p.ntfs->volume_size->value);
      if (p.ntfs->min_size) n->set("min_size_bytes", p.ntfs->min_size->value);
      if (p.ntfs->free_bytes) n->set("free_bytes", p.ntfs->free_bytes->value);
      if (!p.ntfs->problem.empty()) n->set("problem", p.ntfs->problem);
      j->set("ntfs", n);
    }
    if (p.bitlocker) {
      Object::Ptr b = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      b->set("protection", std::string(p.bitlocker->ProtectionName()));
      Array::Ptr protectors = new Array;
      for (const auto& t : p.bitlocker->protectors) protectors->add(t);
      b->set("protectors", protectors);
      b->set("encryption_method", p.bitlocker->encryption_method);
      b->set("volume_id", p.bitlocker->volume_id);
      if (!p.bitlocker->problem.empty()) b->set("problem", p.bitlocker->problem);
      j->set("bitlocker", b);
    }
    parts->add(j);
  }
  o->set("partitions", parts);
  Array::Ptr free = new Array;
  for (const auto& f : d.free) free->add(RegionJson(f.start, f.size, d.sector_size));
  o->set("free", free);
  Array::Ptr notes = new Array;
  for (const auto& n : d.notes) notes->add(n);
  o->set("notes", notes);
  return Stringify(o);
}

std::string PlanToJson(const Plan& plan) { return Stringify(PlanObject(plan)); }

std::string RefusalToJson(const Refusal& refusal) {
  return Stringify(api::ErrorObject(ErrorCodeName(ErrorCode::kRefused), refusal.message, {},
                                    RefusalName(refusal.reason)));
}

std::string BootOnceToJson(const std::string& disk, const std::string& result,
                           const std::string& loader_guid) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("disk", disk);
  o->set("result", result);
  o->set("loader_guid", loader_guid);
  return Stringify(o);
}

std::string ErrorToJson(const Error& error) {
  return Stringify(
      api::ErrorObject(ErrorCodeName(error.code), error.message, error.field, error.reason));
}

std::string PrepareResultToJson(const std::string& result, const Plan& plan,
                                const std::vector<std::string>& steps, int64_t run) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("result", result);
  o->set("run", run);
  o->set("plan", PlanObject(plan));
  Array::Ptr done = new Array;
  for (const auto& s : steps) done->add(s);
  o->set("steps_done", done);
  return Stringify(o);
}

Result<Plan> PlanFromJson(const std::string& json) {
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(json).extract<Object::Ptr>();
    Plan plan;
    // (Plans journalled before goals existed made Lifeboat's partition.)
    const std::string goal = root->optValue<std::string>("goal", "");
    plan.goal = PlanGoal::kLifeboatPartition;
    for (PlanGoal g : {PlanGoal::kGrowWinRe, PlanGoal::kRemoveLifeboat, PlanGoal::kRestoreTable}) {
      if (goal == PlanGoalName(g)) plan.goal = g;
    }
    plan.recovery_uuid = root->optValue<std::string>("recovery_uuid", "");
    plan.disk_path = root->getValue<std::string>("disk");
    plan.disk_id = root->getValue<std::string>("disk_id");
    const std::string label = root->getValue<std::string>("label");
    plan.label = label == "gpt"   ? LabelKind::kGpt
                 : label == "mbr" ? LabelKind::kMbr
                                  : LabelKind::kNone;
    plan.sector_size = static_cast<uint32_t>(U64(root, "sector_size"));
    plan.requested_size = Bytes{U64(root, "requested_size_bytes")};
    auto recovery = root->getObject("recovery");
    plan.recovery_start = Lba{U64(recovery, "start_sector")};
    plan.recovery_size = Sectors{U64(recovery, "size_sectors")};
    auto steps = root->getArray("steps");
    for (size_t i = 0; i < steps->size(); ++i) {
      auto s = steps->getObject(static_cast<unsigned>(i));
      const std::string kind = s->getValue<std::string>("kind");
      if (kind == "backup-table") {
        plan.steps.push_back(BackupTableStep{});
      } else if (kind == "shrink-ntfs") {
        plan.steps.push_back(ShrinkNtfsStep{static_cast<uint32_t>(U64(s, "partition")),
                                            Lba{U64(s, "start_sector")},
                                            Bytes{U64(s, "new_size_bytes")}});
      } else if (kind == "resize-partition") {
        plan.steps.push_back(ResizePartitionStep{static_cast<uint32_t>(U64(s, "partition")),
                                                 Sectors{U64(s, "old_size_sectors")},
                                                 Sectors{U64(s, "new_size_sectors")}});
      } else if (kind == "move-partition") {
        plan.steps.push_back(MovePartitionStep{static_cast<uint32_t>(U64(s, "partition")),
                                               Lba{U64(s, "from_sector")}, Lba{U64(s, "to_sector")},
                                               Sectors{U64(s, "size_sectors")},
                                               s->getValue<std::string>("uuid")});
      } else if (kind == "create-partition") {
        plan.steps.push_back(
            CreatePartitionStep{Lba{U64(s, "start_sector")}, Sectors{U64(s, "size_sectors")},
                                s->getValue<std::string>("type"), s->getValue<std::string>("name"),
                                std::stoull(s->getValue<std::string>("attributes"), nullptr, 16),
                                s->optValue<std::string>("uuid", "")});
      } else if (kind == "retarget-winre") {
        plan.steps.push_back(RetargetWinReStep{static_cast<uint32_t>(U64(s, "partition")),
                                               static_cast<uint32_t>(U64(s, "windows_partition")),
                                               Bytes{U64(s, "from_offset_bytes")},
                                               Bytes{U64(s, "to_offset_bytes")}});
      } else if (kind == "grow-ntfs") {
        plan.steps.push_back(GrowNtfsStep{
            static_cast<uint32_t>(U64(s, "partition")), Lba{U64(s, "start_sector")},
            Bytes{U64(s, "new_size_bytes")}, s->optValue<bool>("own_check_flag", false)});
      } else if (kind == "delete-partition") {
        plan.steps.push_back(DeletePartitionStep{
            static_cast<uint32_t>(U64(s, "partition")), Lba{U64(s, "start_sector")},
            Sectors{U64(s, "size_sectors")}, s->getValue<std::string>("type"),
            s->getValue<std::string>("uuid")});
      } else if (kind == "restore-table") {
        plan.steps.push_back(RestoreTableStep{s->getValue<int64_t>("run")});
      } else if (kind == "format-ntfs") {
        plan.steps.push_back(FormatNtfsStep{Lba{U64(s, "start_sector")},
                                            Sectors{U64(s, "size_sectors")},
                                            s->getValue<std::string>("label")});
      } else {
        return Fail(ErrorCode::kCorrupt, "plan: unknown step kind '" + kind + "'");
      }
    }
    auto notes = root->getArray("notes");
    for (size_t i = 0; i < notes->size(); ++i)
      plan.notes.push_back(notes->getElement<std::string>(static_cast<unsigned>(i)));
    return plan;
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kCorrupt, "plan in the journal is unreadable: " + e.displayText());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kCorrupt, std::string("plan in the journal is unreadable: ") + e.what());
  }
}

namespace {

Object::Ptr NewObject() { return new Object(Poco::JSON_PRESERVE_KEY_ORDER); }

Array::Ptr Strings(const std::vector<std::string>& items) {
  Array::Ptr a = new Array;
  for (const auto& s : items) a->add(s);
  return a;
}

Object::Ptr ImageObject(const image::ImageInfo& i) {
  Object::Ptr o = NewObject();
  o->set("path", i.path);
  o->set("sha256", i.sha256);
  o->set("size_bytes", i.size.value);
  o->set("name", i.name);
  o->set("description", i.description);
  o->set("architecture", i.architecture);
  o->set("image_count", i.image_count);
  o->set("boot_index", i.boot_index);
  o->set("file_count", i.file_count);
  o->set("expanded_bytes", i.expanded_size);
  o->set("integrity_table", i.has_integrity_table);
  o->set("winload_efi", i.winload_efi);
  o->set("winload_exe", i.winload_exe);
  o->set("boot_sdi", i.boot_sdi);
  return o;
}

Object::Ptr ApplyStepObject(const ApplyStep& step) {
  Object::Ptr o = NewObject();
  o->set("kind", std::string(ApplyStepName(step)));
  o->set("description", DescribeApplyStep(step));
  std::visit(Overloaded{
                 [&](const PreparePartitionStep& s) {
                   o->set("resume_run",
                          s.resume_run ? Poco::Dynamic::Var(s.resume_run) : Poco::Dynamic::Var());
                   o->set("partition_plan", PlanObject(s.plan));
                 },
                 [&](const WriteImageStep& s) {
                   o->set("version", s.version);
                   o->set("wim_path", s.wim_path);
                   o->set("size_bytes", s.size.value);
                   o->set("remove_first", Strings(s.remove_first));
                   o->set("already_written", s.already_written);
                 },
                 [&](const VerifyImageStep& s) {
                   o->set("version", s.version);
                   o->set("sha256", s.sha256);
                   o->set("sdi_sha256", s.sdi_sha256);
                   o->set("write_manifest", s.write_manifest);
                 },
                 [&](const EditBcdStep& s) {
                   o->set("store", s.store);
                   o->set("store_sha256", s.store_sha256);
                   Array::Ptr objects = new Array;
                   for (const auto& object : s.objects) {
                     Object::Ptr j = NewObject();
                     j->set("id", object.id.Text());
                     j->set("name", bcd::DisplayName(object.id));
                     j->set("elements", static_cast<uint64_t>(object.elements.size()));
                     objects->add(j);
                   }
                   o->set("objects", objects);
                 },
                 [&](const VerifyBcdStep& s) {
                   o->set("loader_guid", s.spec.loader.Text());
                   o->set("wim_path", s.spec.wim_path);
                   o->set("link", std::string(bcd::LinkPolicyName(s.spec.link)));
                 },
                 [&](const RemoveOldStep& s) { o->set("versions", Strings(s.versions)); },
                 [&](const RecordStep&) {},
             },
             step);
  return o;
}

Object::Ptr ApplyPlanObject(const ApplyPlan& plan) {
  Object::Ptr o = NewObject();
  o->set("disk", plan.disk);
  o->set("disk_id", plan.disk_id);
  o->set("version", plan.version);
  o->set("image_sha256", plan.image_sha256);
  o->set("result", std::string(ApplyResultName(plan.result)));
  o->set("previous_version", plan.previous_version.empty()
                                 ? Poco::Dynamic::Var()
                                 : Poco::Dynamic::Var(plan.previous_version));
  Array::Ptr steps = new Array;
  for (const auto& step : plan.steps) steps->add(ApplyStepObject(step));
  o->set("steps", steps);
  return o;
}

}  // namespace

std::string ApplyPlanToJson(const ApplyPlan& plan) { return Stringify(ApplyPlanObject(plan)); }

std::string ApplyRefusalToJson(const ApplyRefusal& refusal) {
  return Stringify(api::ErrorObject(ErrorCodeName(ErrorCode::kRefused), refusal.message, {},
                                    ApplyRefusalName(refusal)));
}

std::string ImageInfoToJson(const image::ImageInfo& image) {
  Object::Ptr o = NewObject();
  o->set("result", std::string("ok"));
  o->set("image", ImageObject(image));
  return Stringify(o);
}

std::string MediumReportToJson(const media::MediumReport& r) {
  Object::Ptr o = NewObject();
  o->set("kind", r.kind);
  o->set("target", r.target);
  o->set("result", r.result);
  o->set("version", r.version);
  o->set("firmware", Strings(r.firmware));
  o->set("size_bytes", r.size);
  o->set("files", Strings(r.files));
  o->set("label", r.label);
  o->set("erased", Strings(r.erased));
  o->set("verified", r.verified);
  o->set("image", ImageObject(r.image));
  return Stringify(o);
}

std::string ApplyReportToJson(const ApplyReport& r) {
  Object::Ptr o = NewObject();
  o->set("disk", r.disk);
  o->set("result", r.result);
  o->set("version", r.version);
  o->set("previous_version", r.previous_version.empty() ? Poco::Dynamic::Var()
                                                        : Poco::Dynamic::Var(r.previous_version));
  o->set("firmware", r.firmware);
  o->set("bcd_store", r.store);
  o->set("link", r.link);
  o->set("partition_number", r.partition_number);
  o->set("partition_result", r.partition_result);
  o->set("partition_run", r.partition_run);
  o->set("wim_path", r.wim_path);
  o->set("loader_guid", r.loader_guid);
  o->set("image", ImageObject(r.image));
  o->set("steps", Strings(r.steps));
  if (r.plan) o->set("plan", ApplyPlanObject(*r.plan));
  return Stringify(o);
}

std::string StatusReportToJson(const StatusReport& r) {
  Object::Ptr o = NewObject();
  o->set("disk", r.disk);
  o->set("disk_id", r.disk_id);
  o->set("state", r.state);
  o->set("problems", Strings(r.problems));
  o->set("firmware", r.firmware);
  o->set("bcd_store", r.store);
  o->set("partition_number",
         r.partition_number ? Poco::Dynamic::Var(*r.partition_number) : Poco::Dynamic::Var());
  o->set("versions_on_disk", Strings(r.versions_on_disk));
  if (r.version.empty()) {
    o->set("installed", Poco::Dynamic::Var());
  } else {
    Object::Ptr installed = NewObject();
    installed->set("version", r.version);
    installed->set("wim_path", r.wim_path);
    installed->set("sha256", r.sha256);
    installed->set("size_bytes", r.size);
    installed->set("name", r.image_name);
    installed->set("hash_checked", r.hash_checked);
    o->set("installed", installed);
  }
  Object::Ptr entry = NewObject();
  entry->set("present", r.entry_present);
  entry->set("loader_guid", r.loader_guid);
  entry->set("description", r.entry_description);
  entry->set("device", r.entry_device);
  entry->set("linked_from", Strings(r.linked_from));
  entry->set("boot_once", r.boot_once);
  o->set("boot_entry", entry);
  Object::Ptr agent = NewObject();
  agent->set("recorded_version",
             r.recorded_version ? Poco::Dynamic::Var(*r.recorded_version) : Poco::Dynamic::Var());
  agent->set("recorded_at", r.recorded_at);
  agent->set("last_apply_state",
             r.last_apply_state ? Poco::Dynamic::Var(*r.last_apply_state) : Poco::Dynamic::Var());
  agent->set("last_apply_version", r.last_apply_version);
  agent->set("last_apply_message", r.last_apply_message);
  o->set("agent_state", agent);
  return Stringify(o);
}

std::string StoreToJson(const bcd::Store& store, const std::string& source) {
  Object::Ptr o = NewObject();
  o->set("store", source);
  Array::Ptr objects = new Array;
  for (const auto& [id, object] : store.objects) {
    Object::Ptr j = NewObject();
    j->set("id", id.Text());
    std::string alias = bcd::WellKnownAlias(id);
    j->set("alias", alias.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(alias));
    char type[16];
    std::snprintf(type, sizeof type, "0x%08x", object.type);
    j->set("type", std::string(type));
    j->set("type_name", bcd::ObjectTypeName(object.type));
    Array::Ptr elements = new Array;
    for (const auto& [element_id, element] : object.elements) {
      auto d = bcd::DescribeElement(element_id, object.type, element);
      Object::Ptr e = NewObject();
      char eid[16];
      std::snprintf(eid, sizeof eid, "%08x", element_id);
      e->set("id", std::string(eid));
      e->set("name", d.name);
      e->set("format", d.format);
      if (d.format == "objectlist" || d.format == "integerlist") {
        e->set("value", Strings(d.list));
      } else {
        e->set("value", d.text);
      }
      elements->add(e);
    }
    j->set("elements", elements);
    objects->add(j);
  }
  o->set("objects", objects);
  return Stringify(o);
}

}  // namespace lifeboat::agent
