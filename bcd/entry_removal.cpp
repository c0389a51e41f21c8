#include "bcd/entry_removal.h"

#include <algorithm>

namespace lifeboat::bcd {
namespace {

using namespace elements;

bool Contains(const std::vector<Guid>& list, const Guid& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

const Element* ElementOf(const Object* object, uint32_t id) {
  if (object == nullptr) return nullptr;
  auto it = object->elements.find(id);
  return it == object->elements.end() ? nullptr : &it->second;
}

// Sets `id` of `object` to what `before` had, or erases it where `before` had none.
void RestoreElement(Object& object, const Object* before, uint32_t id) {
  if (const Element* old = ElementOf(before, id)) {
    object.elements[id] = *old;
  } else {
    object.elements.erase(id);
  }
}

// Windows' own WinRE loader, when the store holds exactly one WinPE loader that is not ours.
std::optional<Guid> WindowsRecoveryLoader(const Store& store, const Guid& loader) {
  std::optional<Guid> found;
  for (const auto& [id, object] : store.objects) {
    if (id == loader || object.type != object_types::kOsLoader) continue;
    const Element* winpe = ElementOf(&object, kWinPe);
    if (winpe == nullptr || DecodeInteger(winpe->data) == 0) continue;
    if (found) return std::nullopt;  // more than one: not ours to choose
    found = id;
  }
  return found;
}

}  // namespace

EntryRemoval PlanEntryRemoval(const Store& store, const Guid& loader, const Guid& options,
                              const Store* before) {
  EntryRemoval removal;
  for (const Guid& id : {loader, options}) {
    if (store.Find(id)) removal.remove.push_back(id);
  }
  for (const auto& [id, object] : store.objects) {
    if (id == loader || id == options) continue;
    const Object* old = before ? before->Find(id) : nullptr;
    Object changed = object;
    for (const auto& [element_id, element] : object.elements) {
      const ElementFormat format = FormatOf(element_id);
      if (element_id == kRecoverySequence) {
        if (!Contains(ObjectList(object, element_id), loader)) continue;
        // Lifeboat's recovery-sequence link replaced Windows' own (or none): put that back.
        if (old != nullptr) {
          RestoreElement(changed, old, kRecoverySequence);
          RestoreElement(changed, old, kRecoveryEnabled);
        } else if (auto winre = WindowsRecoveryLoader(store, loader)) {
          changed.elements[kRecoverySequence] = ObjectListElement({*winre});
        } else {
          changed.elements.erase(kRecoverySequence);
          changed.elements.erase(kRecoveryEnabled);
          removal.notes.push_back(
              "the Windows loader " + id.Text() +
              " had Lifeboat as its recovery sequence and Windows' own is not known: it now has "
              "none; run `reagentc /enable` in Windows to give it WinRE again");
        }
      } else if (format == ElementFormat::kObjectList) {
        auto list = ObjectList(object, element_id);
        if (!Contains(list, loader)) continue;
        std::erase(list, loader);
        // A list Lifeboat created (none before) goes away with its last member.
        if (list.empty() && (before == nullptr || ElementOf(old, element_id) == nullptr)) {
          changed.elements.erase(element_id);
        } else {
          changed.elements[element_id] = ObjectListElement(list);
        }
      } else if (format == ElementFormat::kObject) {
        if (Guid::Parse(DecodeString(element.data)) != loader) continue;
        RestoreElement(changed, old, element_id);
      }
    }
    if (!(changed == object)) removal.save.push_back(std::move(changed));
  }
  return removal;
}

Result<void> DeleteObjects(Hive& hive, const std::vector<Guid>& ids) {
  auto objects = hive.Child(hive.Root(), "Objects");
  LIFEBOAT_TRY(objects);
  if (!*objects) return Fail(ErrorCode::kCorrupt, "the store has no Objects key");
  for (const Guid& id : ids) {
    auto key = hive.Child(**objects, id.Text());
    LIFEBOAT_TRY(key);
    if (*key) LIFEBOAT_TRY(hive.DeleteKey(**key));
  }
  return {};
}

}  // namespace lifeboat::bcd
