// Text that strangers or careless hands write: the agent's config file and a signed image
// manifest. Each parses or is refused with a message; a parsed manifest prints back the same.
#include <cstdlib>

#include "agent/daemon_config.h"
#include "common/image_manifest.h"
#include "fuzz/fuzz_input.h"

using namespace lifeboat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto manifest = ParseManifestText(text)) {
    // The text form is canonical: what parses prints back to text that parses to the same.
    auto again = ParseManifestText(ManifestText(*manifest));
    if (!again || ManifestText(*again) != ManifestText(*manifest)) std::abort();
  }
  fuzz::MemoryFile file(data, size);
  if (!file.path().empty()) (void)agent::ReadDaemonConfig(file.path());
  return 0;
}
