#include "bcd/store.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common/utf16.h"

namespace lifeboat::bcd {

namespace {

std::string ElementKeyName(uint32_t id) {
  char name[9];
  std::snprintf(name, sizeof name, "%08x", id);
  return name;
}

Result<Hive::Node> Need(const Hive& hive, Hive::Node parent, const std::string& name,
                        const std::string& where) {
  auto child = hive.Child(parent, name);
  LIFEBOAT_TRY(child);
  if (!*child) return Fail(ErrorCode::kCorrupt, where + " has no " + name + " key");
  return **child;
}

Result<Hive::Node> Ensure(Hive& hive, Hive::Node parent, const std::string& name) {
  auto child = hive.Child(parent, name);
  LIFEBOAT_TRY(child);
  if (*child) return **child;
  return hive.AddChild(parent, name);
}

}  // namespace

ElementFormat FormatOf(uint32_t element_id) {
  uint32_t nibble = (element_id >> 24) & 0xf;
  if (nibble >= 1 && nibble <= 7) return static_cast<ElementFormat>(nibble);
  return ElementFormat::kUnknown;
}

const Object* Store::Find(const Guid& id) const {
  auto it = objects.find(id);
  return it == objects.end() ? nullptr : &it->second;
}

Result<Store> LoadStore(const Hive& hive) {
  Store store;
  Hive::Node root = hive.Root();
  store.root_name = hive.Name(root);
  if (auto d = hive.Child(root, "Description"); d && *d) {
    auto values = hive.Values(**d);
    LIFEBOAT_TRY(values);
    store.description = *values;
  }
  auto objects = Need(hive, root, "Objects", "the store's root key");
  LIFEBOAT_TRY(objects);
  auto keys = hive.Children(*objects);
  LIFEBOAT_TRY(keys);
  for (const auto& [name, node] : *keys) {
    auto id = Guid::Parse(name);
    if (!id) return Fail(ErrorCode::kCorrupt, "object key \"" + name + "\" is not a GUID");
    Object object;
    object.id = *id;
    auto description = Need(hive, node, "Description", "object " + name);
    LIFEBOAT_TRY(description);
    auto values = hive.Values(*description);
    LIFEBOAT_TRY(values);
    bool typed = false;
    for (const auto& v : *values) {
      if (v.name == "Type" && v.type == kRegDword && v.data.size() == 4) {
        object.type = static_cast<uint32_t>(DecodeInteger(v.data));
        typed = true;
      }
    }
    if (!typed) return Fail(ErrorCode::kCorrupt, "object " + name + " has no REG_DWORD Type");
    auto element_keys = hive.Child(node, "Elements");
    LIFEBOAT_TRY(element_keys);
    if (*element_keys) {
      auto elements = hive.Children(**element_keys);
      LIFEBOAT_TRY(elements);
      for (const auto& [element_name, element_node] : *elements) {
        char* end = nullptr;
        unsigned long element_id = std::strtoul(element_name.c_str(), &end, 16);
        if (element_name.size() != 8 || *end != '\0') {
          return Fail(ErrorCode::kCorrupt, "object " + name + " has an element key \"" +
                                               element_name + "\" that is not 8 hex digits");
        }
        auto element_values = hive.Values(element_node);
        LIFEBOAT_TRY(element_values);
        for (const auto& v : *element_values) {
          if (v.name == "Element")
            object.elements[static_cast<uint32_t>(element_id)] = {v.type, v.data};
        }
      }
    }
    store.objects[object.id] = std::move(object);
  }
  return store;
}

Result<void> CreateEmptyStore(const std::string& file) {
  {
    const auto bytes = EmptyHiveBytes("NewStoreRoot");
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return Fail(ErrorCode::kIo, "write " + file);
  }
  auto hive = Hive::Open(file, /*writable=*/true);
  if (!hive) return std::unexpected(hive.error().Context("a new BCD store"));
  auto description = (*hive)->AddChild((*hive)->Root(), "Description");
  LIFEBOAT_TRY(description);
  LIFEBOAT_TRY((*hive)->SetValue(*description, {"KeyName", kRegSz, EncodeString("BCD00000001")}));
  LIFEBOAT_TRY((*hive)->AddChild((*hive)->Root(), "Objects"));
  return (*hive)->Commit();
}

Result<void> SaveObjects(Hive& hive, const std::vector<Object>& objects) {
  auto loaded = LoadStore(hive);
  LIFEBOAT_TRY(loaded);
  auto objects_key = Need(hive, hive.Root(), "Objects", "the store's root key");
  LIFEBOAT_TRY(objects_key);
  for (const auto& object : objects) {
    const Object* before = loaded->Find(object.id);
    auto key = Ensure(hive, *objects_key, object.id.Text());
    LIFEBOAT_TRY(key);
    if (before == nullptr || before->type != object.type) {
      auto description = Ensure(hive, *key, "Description");
      LIFEBOAT_TRY(description);
      RegValue type{"Type", kRegDword, EncodeInteger(object.type)};
      type.data.resize(4);
      if (auto r = hive.SetValue(*description, type); !r) return r;
    }
    auto elements_key = Ensure(hive, *key, "Elements");
    LIFEBOAT_TRY(elements_key);
    for (const auto& [id, element] : object.elements) {
      if (before) {
        auto it = before->elements.find(id);
        if (it != before->elements.end() && it->second == element) continue;
      }
      auto element_key = Ensure(hive, *elements_key, ElementKeyName(id));
      LIFEBOAT_TRY(element_key);
      if (auto r = hive.SetValue(*element_key, {"Element", element.type, element.data}); !r)
        return r;
    }
    if (before) {
      for (const auto& [id, element] : before->elements) {
        if (object.elements.contains(id)) continue;
        auto element_key = hive.Child(*elements_key, ElementKeyName(id));
        LIFEBOAT_TRY(element_key);
        if (*element_key) {
          if (auto r = hive.DeleteKey(**element_key); !r) return r;
        }
      }
    }
  }
  return {};
}

std::vector<uint8_t> EncodeString(const std::string& text) {
  auto out = Utf8ToUtf16Le(text);
  out.insert(out.end(), {0, 0});
  return out;
}

std::vector<uint8_t> EncodeObjectList(const std::vector<Guid>& ids) {
  std::vector<uint8_t> out;
  for (const auto& id : ids) {
    auto one = EncodeString(id.Text());
    out.insert(out.end(), one.begin(), one.end());
  }
  out.insert(out.end(), {0, 0});
  return out;
}

std::vector<uint8_t> EncodeInteger(uint64_t value) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

std::vector<uint8_t> EncodeBoolean(bool value) { return {static_cast<uint8_t>(value ? 1 : 0)}; }

std::string DecodeString(const std::vector<uint8_t>& data) {
  return Utf16LeToUtf8Parts(data).front();
}

std::vector<std::string> DecodeMultiString(const std::vector<uint8_t>& data) {
  std::vector<std::string> out;
  for (auto& s : Utf16LeToUtf8Parts(data))
    if (!s.empty()) out.push_back(std::move(s));
  return out;
}

uint64_t DecodeInteger(const std::vector<uint8_t>& data) {
  uint64_t value = 0;
  for (size_t i = 0; i < data.size() && i < 8; ++i)
    value |= static_cast<uint64_t>(data[i]) << (8 * i);
  return value;
}

Element StringElement(const std::string& text) { return {kRegSz, EncodeString(text)}; }
Element ObjectElement(const Guid& id) { return {kRegSz, EncodeString(id.Text())}; }
Element ObjectListElement(const std::vector<Guid>& ids) {
  return {kRegMultiSz, EncodeObjectList(ids)};
}
Element IntegerElement(uint64_t value) { return {kRegBinary, EncodeInteger(value)}; }
Element BooleanElement(bool value) { return {kRegBinary, EncodeBoolean(value)}; }

std::vector<Guid> ObjectList(const Object& object, uint32_t element_id) {
  std::vector<Guid> out;
  auto it = object.elements.find(element_id);
  if (it == object.elements.end()) return out;
  for (const auto& text : DecodeMultiString(it->second.data)) {
    if (auto id = Guid::Parse(text)) out.push_back(*id);
  }
  return out;
}

}  // namespace lifeboat::bcd
