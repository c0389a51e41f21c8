// BCD stores as found on a stranger's disk: the base block and transaction-log checks, then hivex
// and Lifeboat's decoding of every object and element, as `bcd show` and `apply` read them.
#include "agent/store_editor.h"
#include "bcd/describe.h"
#include "bcd/hive.h"

using namespace lifeboat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  auto header = bcd::ReadHiveHeader(bytes);
  if (!header) return 0;
  (void)bcd::LogHoldsPendingData(bytes, *header);
  auto store = agent::ParseStore(bytes);
  if (!store) return 0;
  for (const auto& [id, object] : store->objects) {
    (void)bcd::ObjectTypeName(object.type);
    for (const auto& [element_id, element] : object.elements)
      (void)bcd::DescribeElement(element_id, object.type, element);
  }
  return 0;
}
