// A recovery image as `image check` and `apply` see it first: wimlib opens it (with integrity
// checks) and Lifeboat reads its boot index, architecture, files and boot.sdi.
#include "fuzz/fuzz_input.h"
#include "image/wim_file.h"

using namespace lifeboat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemoryFile file(data, size);
  if (file.path().empty()) return 0;
  auto image = image::CheckImage(file.path());
  if (!image) return 0;
  if (!image->boot_sdi.empty()) (void)image::ReadImageFile(*image, image->boot_sdi);
  return 0;
}
