// Names and text for a BCD store the way bcdedit shows it: element names ("device", "path",
// "toolsdisplayorder"), object types, and values decoded by their format. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bcd/store.h"

namespace lifeboat::bcd {

// bcdedit's name for an element on an object of `object_type` ("default" on {bootmgr},
// "resumeobject" on an OS loader), or "custom:1600004a" when it has none.
std::string ElementName(uint32_t element_id, uint32_t object_type);
// "Windows Boot Manager", "Windows Boot Loader", "Device options", ... or "0x........".
std::string ObjectTypeName(uint32_t object_type);

struct DescribedElement {
  uint32_t id = 0;
  std::string name;
  std::string format;  // device, string, object, objectlist, integer, boolean, integerlist
  std::string text;    // the value as bcdedit prints it
  std::vector<std::string> list;  // object and integer lists, item by item
};

// Decodes one element; never fails: what cannot be decoded is shown as hex.
DescribedElement DescribeElement(uint32_t element_id, uint32_t object_type, const Element& element);

}  // namespace lifeboat::bcd
