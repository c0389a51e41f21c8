// One BCD element's bytes, decoded for every element id and object type a store may give them
// (devices, strings, integers, object lists), and MBR device retargeting. Much faster than going
// through a whole hive, so it reaches deeper into the decoders.
#include <cstring>

#include "bcd/describe.h"
#include "bcd/device.h"

using namespace lifeboat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  uint32_t element_id, object_type, value_type;
  std::memcpy(&element_id, data, 4);
  std::memcpy(&object_type, data + 4, 4);
  std::memcpy(&value_type, data + 8, 4);
  bcd::Element element;
  element.type = value_type % 12;  // the registry value types
  element.data.assign(data + 12, data + size);
  (void)bcd::ElementName(element_id, object_type);
  (void)bcd::DescribeElement(element_id, object_type, element);
  if (auto device = bcd::DecodeDevice(element.data)) (void)bcd::FormatDevice(*device);
  bcd::PartitionRef from;
  from.gpt = false;
  from.signature = element_id;
  from.offset = object_type;
  (void)bcd::RetargetMbrPartition(element.data, from, value_type);
  return 0;
}
