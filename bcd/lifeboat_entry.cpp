#include "bcd/lifeboat_entry.h"

#include <algorithm>

#include "common/enum_table.h"

namespace lifeboat::bcd {

namespace {

using namespace elements;

bool Contains(const std::vector<Guid>& list, const Guid& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

// The Windows loader {bootmgr} starts by default, if it is one.
std::optional<Guid> DefaultLoader(const Object& bootmgr, const Store& store) {
  auto it = bootmgr.elements.find(kDefault);
  if (it == bootmgr.elements.end()) return std::nullopt;
  auto id = Guid::Parse(DecodeString(it->second.data));
  if (!id) return std::nullopt;
  const Object* loader = store.Find(*id);
  if (loader == nullptr || loader->type != object_types::kOsLoader) return std::nullopt;
  return id;
}

}  // namespace

namespace {
constexpr auto kLinkPolicyWords = MakeEnumTable<LinkPolicy, const char*>({
    {LinkPolicy::kToolsMenu, "tools-menu"},
    {LinkPolicy::kMainMenu, "main-menu"},
    {LinkPolicy::kRecoverySequence, "recovery-sequence"},
});
}  // namespace

const char* LinkPolicyName(LinkPolicy policy) { return kLinkPolicyWords.To(policy).value_or("?"); }

std::optional<LinkPolicy> ParseLinkPolicy(const std::string& name) {
  return kLinkPolicyWords.From(name.c_str());
}

std::vector<Object> EntryObjects(const EntrySpec& spec) {
  Object options;
  options.id = spec.options;
  options.type = object_types::kDeviceOptions;
  options.elements[kDescription] = StringElement("Lifeboat RAM disk options");
  options.elements[kSdiDevice] = {kRegBinary, EncodePartitionDevice(spec.partition)};
  options.elements[kSdiPath] = StringElement(spec.sdi_path);

  Object loader;
  loader.id = spec.loader;
  loader.type = object_types::kOsLoader;
  Element ramdisk{kRegBinary, EncodeRamdiskDevice(spec.partition, spec.wim_path, spec.options)};
  loader.elements[kDevice] = ramdisk;
  loader.elements[kPath] = StringElement(spec.winload);
  loader.elements[kDescription] = StringElement(spec.description);
  loader.elements[kLocale] = StringElement("en-us");
  loader.elements[kInherit] = ObjectListElement({known::kBootLoaderSettings});
  loader.elements[kOsDevice] = ramdisk;
  loader.elements[kSystemRoot] = StringElement("\\windows");
  loader.elements[kNx] = IntegerElement(0);              // OptIn
  loader.elements[kBootMenuPolicy] = IntegerElement(1);  // Standard
  loader.elements[kDetectHal] = BooleanElement(true);
  loader.elements[kWinPe] = BooleanElement(true);
  return {options, loader};
}

std::map<Guid, Object> FollowPartitionMoves(const Store& store,
                                            const std::vector<PartitionMove>& moves,
                                            const std::vector<Guid>& except) {
  std::map<Guid, Object> retargeted;
  for (const auto& [id, object] : store.objects) {
    if (std::find(except.begin(), except.end(), id) != except.end()) continue;
    for (const auto& [element_id, element] : object.elements) {
      if (FormatOf(element_id) != ElementFormat::kDevice) continue;
      // The moves in the order they were made: a partition moved and moved back (prepare, then
      // remove) ends where it started.
      std::vector<uint8_t> data = element.data;
      for (const auto& move : moves) {
        if (auto moved = RetargetMbrPartition(data, move.from, move.to_offset)) data = *moved;
      }
      if (data != element.data) {
        auto [it, inserted] = retargeted.try_emplace(id, object);
        it->second.elements[element_id].data = data;
      }
    }
  }
  return retargeted;
}

Result<std::vector<Object>> PlanEntryEdit(const Store& store, const EntrySpec& spec,
                                          const std::vector<PartitionMove>& moves) {
  const Object* bootmgr = store.Find(known::kBootMgr);
  if (bootmgr == nullptr) return Fail(ErrorCode::kCorrupt, "the store has no {bootmgr} object");
  std::vector<Object> changed;
  for (auto& object : EntryObjects(spec)) {
    const Object* existing = store.Find(object.id);
    if (existing == nullptr || !(*existing == object)) changed.push_back(std::move(object));
  }

  // Windows' own entries follow partitions the disk engine moved (MBR stores name them by offset).
  std::map<Guid, Object> retargeted =
      FollowPartitionMoves(store, moves, {spec.loader, spec.options});

  Object new_bootmgr = *bootmgr;
  if (auto it = retargeted.find(known::kBootMgr); it != retargeted.end()) {
    new_bootmgr = it->second;
    retargeted.erase(it);
  }
  auto append = [&](uint32_t list_id) {
    auto list = ObjectList(new_bootmgr, list_id);
    if (!Contains(list, spec.loader)) {
      list.push_back(spec.loader);
      new_bootmgr.elements[list_id] = ObjectListElement(list);
    }
  };
  switch (spec.link) {
    case LinkPolicy::kToolsMenu:
      append(kToolsDisplayOrder);
      break;
    case LinkPolicy::kMainMenu:
      append(kDisplayOrder);
      break;
    case LinkPolicy::kRecoverySequence: {
      auto windows = DefaultLoader(*bootmgr, store);
      if (!windows) {
        return Fail(
            ErrorCode::kUnsupported,
            "link policy recovery-sequence needs {bootmgr}'s default to be a Windows loader");
      }
      auto [it, inserted] = retargeted.try_emplace(*windows, *store.Find(*windows));
      it->second.elements[kRecoverySequence] = ObjectListElement({spec.loader});
      it->second.elements[kRecoveryEnabled] = BooleanElement(true);
      break;
    }
  }
  if (!(new_bootmgr == *bootmgr)) changed.push_back(new_bootmgr);
  for (auto& [id, object] : retargeted) {
    if (!(object == *store.Find(id))) changed.push_back(std::move(object));
  }
  return changed;
}

Result<std::vector<Object>> PlanBootOnce(const Store& store, const Guid& loader) {
  const Object* bootmgr = store.Find(known::kBootMgr);
  if (bootmgr == nullptr) return Fail(ErrorCode::kCorrupt, "the store has no {bootmgr} object");
  if (store.Find(loader) == nullptr) {
    return Fail(ErrorCode::kNotFound,
                "Lifeboat's boot entry " + loader.Text() + " is not in the store; run apply first");
  }
  Object next = *bootmgr;
  next.elements[kBootSequence] = ObjectListElement({loader});
  if (next == *bootmgr) return std::vector<Object>{};
  return std::vector<Object>{next};
}

std::optional<InstalledEntry> FindEntry(const Store& store, const Guid& loader,
                                        const Guid& options) {
  const Object* object = store.Find(loader);
  if (object == nullptr) return std::nullopt;
  InstalledEntry entry;
  if (auto it = object->elements.find(kDescription); it != object->elements.end())
    entry.description = DecodeString(it->second.data);
  if (auto it = object->elements.find(kDevice); it != object->elements.end()) {
    if (auto device = DecodeDevice(it->second.data)) entry.device = *device;
  }
  if (const Object* o = store.Find(options)) {
    if (auto it = o->elements.find(kSdiPath); it != o->elements.end())
      entry.sdi_path = DecodeString(it->second.data);
    if (auto it = o->elements.find(kSdiDevice); it != o->elements.end()) {
      if (auto device = DecodeDevice(it->second.data); device && device->partition)
        entry.sdi_partition = device->partition;
    }
  }
  if (const Object* bootmgr = store.Find(known::kBootMgr)) {
    if (Contains(ObjectList(*bootmgr, kToolsDisplayOrder), loader))
      entry.linked_from.push_back("toolsdisplayorder");
    if (Contains(ObjectList(*bootmgr, kDisplayOrder), loader))
      entry.linked_from.push_back("displayorder");
    entry.boot_once = Contains(ObjectList(*bootmgr, kBootSequence), loader);
    if (auto windows = DefaultLoader(*bootmgr, store)) {
      if (Contains(ObjectList(*store.Find(*windows), kRecoverySequence), loader))
        entry.linked_from.push_back("recoverysequence");
    }
  }
  return entry;
}

bool EntryIntact(const Store& store, const EntrySpec& spec) {
  for (const auto& object : EntryObjects(spec)) {
    const Object* existing = store.Find(object.id);
    if (existing == nullptr || !(*existing == object)) return false;
  }
  auto plan = PlanEntryEdit(store, spec, {});
  return plan && plan->empty();
}

}  // namespace lifeboat::bcd
