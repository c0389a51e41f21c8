// A BCD store as plain values: objects by GUID, each with its type and elements, read from a
// hive and written back object by object. Only the objects a caller saves are touched, and
// within them only the elements whose bytes change, so every other byte of meaning in the store
// stays as it was.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bcd/guid.h"
#include "bcd/hive.h"
#include "common/error.h"

namespace lifeboat::bcd {

struct Element {
  uint32_t type = kRegBinary;  // registry value type of its "Element" value
  std::vector<uint8_t> data;
  bool operator==(const Element&) const = default;
};

// Element ids: Class:4 | Format:4 | SubType:24. The format says how the data is stored.
enum class ElementFormat {
  kDevice = 1,
  kString,
  kObject,
  kObjectList,
  kInteger,
  kBoolean,
  kIntegerList,
  kUnknown
};
ElementFormat FormatOf(uint32_t element_id);

struct Object {
  Guid id;
  uint32_t type = 0;  // Description\Type
  std::map<uint32_t, Element> elements;
  bool operator==(const Object&) const = default;
};

struct Store {
  std::string root_name;
  std::vector<RegValue> description;  // the root's Description values (KeyName, System, ...)
  std::map<Guid, Object> objects;

  [[nodiscard]] const Object* Find(const Guid& id) const;
};

// Errors: kCorrupt (no Objects key, an object without a REG_DWORD type, a malformed key name).
[[nodiscard]] Result<Store> LoadStore(const Hive& hive);
// Writes a new store with no objects to `file` (replacing it): a root key with Description
// (KeyName BCD00000001, as bcdedit /createstore writes) and an empty Objects key. Errors: kIo,
// kCorrupt (hivex refused the new hive).
[[nodiscard]] Result<void> CreateEmptyStore(const std::string& file);
// Creates or updates the objects, element by element; elements absent from an object are
// deleted from it.
[[nodiscard]] Result<void> SaveObjects(Hive& hive, const std::vector<Object>& objects);

// Value encodings BCD uses (UTF-16LE with terminating NULs; little-endian integers).
std::vector<uint8_t> EncodeString(const std::string& text);
std::vector<uint8_t> EncodeObjectList(const std::vector<Guid>& ids);
std::vector<uint8_t> EncodeInteger(uint64_t value);
std::vector<uint8_t> EncodeBoolean(bool value);
// Decoding accepts what real stores hold: missing or doubled NULs, integers of 1 to 8 bytes.
std::string DecodeString(const std::vector<uint8_t>& data);
std::vector<std::string> DecodeMultiString(const std::vector<uint8_t>& data);
uint64_t DecodeInteger(const std::vector<uint8_t>& data);

Element StringElement(const std::string& text);
Element ObjectElement(const Guid& id);
Element ObjectListElement(const std::vector<Guid>& ids);
Element IntegerElement(uint64_t value);
Element BooleanElement(bool value);

// The GUIDs of an object-list element; an empty list when the element is absent.
std::vector<Guid> ObjectList(const Object& object, uint32_t element_id);

// Element ids Lifeboat reads or writes.
namespace elements {
inline constexpr uint32_t kDevice = 0x11000001;
inline constexpr uint32_t kPath = 0x12000002;
inline constexpr uint32_t kDescription = 0x12000004;
inline constexpr uint32_t kLocale = 0x12000005;
inline constexpr uint32_t kInherit = 0x14000006;
inline constexpr uint32_t kRecoverySequence = 0x14000008;
inline constexpr uint32_t kRecoveryEnabled = 0x16000009;
inline constexpr uint32_t kOsDevice = 0x21000001;
inline constexpr uint32_t kSystemRoot = 0x22000002;
inline constexpr uint32_t kDefault = 0x23000003;  // on {bootmgr}
inline constexpr uint32_t kDisplayOrder = 0x24000001;
inline constexpr uint32_t kBootSequence = 0x24000002;
inline constexpr uint32_t kToolsDisplayOrder = 0x24000010;
inline constexpr uint32_t kNx = 0x25000020;
inline constexpr uint32_t kBootMenuPolicy = 0x250000c2;
inline constexpr uint32_t kDetectHal = 0x26000010;
inline constexpr uint32_t kWinPe = 0x26000022;
inline constexpr uint32_t kSdiDevice = 0x31000003;
inline constexpr uint32_t kSdiPath = 0x32000004;
// ramdisktftpblocksize (device, integer 0x07: Microsoft's BcdDeviceElementTypes).
inline constexpr uint32_t kRamdiskTftpBlockSize = 0x35000007;
}  // namespace elements

namespace object_types {
inline constexpr uint32_t kBootManager = 0x10100002;
inline constexpr uint32_t kOsLoader = 0x10200003;
inline constexpr uint32_t kResume = 0x10200004;
inline constexpr uint32_t kDeviceOptions = 0x30000000;
}  // namespace object_types

}  // namespace lifeboat::bcd
