#include "bcd/media_entry.h"

#include <optional>

namespace lifeboat::bcd {

const Guid kMediaLoader = *Guid::Parse("{7619dcc9-fafe-11d9-b411-000476eba25f}");

namespace {

using namespace elements;

// The OS loader {bootmgr} starts by default in the template, if there is one.
std::optional<Guid> TemplateLoader(const Store& store) {
  const Object* bootmgr = store.Find(known::kBootMgr);
  if (bootmgr == nullptr) return std::nullopt;
  auto it = bootmgr->elements.find(kDefault);
  if (it == bootmgr->elements.end()) return std::nullopt;
  auto id = Guid::Parse(DecodeString(it->second.data));
  if (!id) return std::nullopt;
  const Object* loader = store.Find(*id);
  if (loader == nullptr || loader->type != object_types::kOsLoader) return std::nullopt;
  return id;
}

// The three objects as they must be, built over the template's (its other elements kept).
std::vector<Object> WantedObjects(const Store& store, const MediaEntrySpec& spec) {
  const Guid loader_id = TemplateLoader(store).value_or(kMediaLoader);

  Object options;
  if (const Object* existing = store.Find(known::kRamdiskOptions)) options = *existing;
  options.id = known::kRamdiskOptions;
  options.type = object_types::kDeviceOptions;
  options.elements[kDescription] = StringElement("Ramdisk Options");
  options.elements[kSdiDevice] = {kRegBinary, EncodeBootDevice()};
  options.elements[kSdiPath] = StringElement(spec.sdi_path);
  if (spec.tftp_block_size != 0)
    options.elements[kRamdiskTftpBlockSize] = IntegerElement(spec.tftp_block_size);

  Object loader;
  if (const Object* existing = store.Find(loader_id)) loader = *existing;
  loader.id = loader_id;
  loader.type = object_types::kOsLoader;
  const Element ramdisk{kRegBinary, EncodeRamdiskOnBootDevice(spec.wim_path, options.id)};
  loader.elements[kDevice] = ramdisk;
  loader.elements[kOsDevice] = ramdisk;
  loader.elements[kPath] = StringElement(spec.winload);
  loader.elements[kDescription] = StringElement(spec.description);
  if (!loader.elements.contains(kLocale)) loader.elements[kLocale] = StringElement("en-US");
  loader.elements[kSystemRoot] = StringElement("\\windows");
  loader.elements[kDetectHal] = BooleanElement(true);
  loader.elements[kWinPe] = BooleanElement(true);

  Object bootmgr;
  if (const Object* existing = store.Find(known::kBootMgr)) {
    bootmgr = *existing;
  } else {
    bootmgr.elements[kDescription] = StringElement("Windows Boot Manager");
    bootmgr.elements[kLocale] = StringElement("en-US");
  }
  bootmgr.id = known::kBootMgr;
  bootmgr.type = object_types::kBootManager;
  bootmgr.elements[kDevice] = {kRegBinary, EncodeBootDevice()};
  bootmgr.elements[kDefault] = StringElement(loader_id.Text());
  bootmgr.elements[kDisplayOrder] = ObjectListElement({loader_id});
  bootmgr.elements.erase(kBootSequence);  // a one-time choice has no place on a medium
  // The template's tools (Windows Memory Diagnostic) point at files the medium does not carry.
  bootmgr.elements.erase(kToolsDisplayOrder);
  return {bootmgr, loader, options};
}

}  // namespace

std::vector<Object> PlanMediaStore(const Store& store, const MediaEntrySpec& spec) {
  std::vector<Object> changed;
  for (auto& object : WantedObjects(store, spec)) {
    const Object* existing = store.Find(object.id);
    if (existing == nullptr || !(*existing == object)) changed.push_back(std::move(object));
  }
  return changed;
}

bool MediaStoreIntact(const Store& store, const MediaEntrySpec& spec, std::string* why) {
  for (const auto& wanted : WantedObjects(store, spec)) {
    const Object* existing = store.Find(wanted.id);
    if (existing != nullptr && *existing == wanted) continue;
    if (why) *why = wanted.id.Text() + (existing ? " differs" : " is missing");
    return false;
  }
  return true;
}

}  // namespace lifeboat::bcd
