// BitLocker's metadata as the disk reader sees it (partition/bitlocker_metadata.h): the input is
// a volume's first sector (512 bytes) followed by one FVE metadata block.
#include <span>

#include "partition/bitlocker_metadata.h"

using namespace lifeboat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const unsigned char> input(data, size);
  if (size >= 512) (void)partition::ParseFveVolumeHeader(input.first(512));
  auto info = partition::ParseFveMetadataBlock(size > 512 ? input.subspan(512) : input);
  if (info) (void)info->ProtectionName();
  return 0;
}
