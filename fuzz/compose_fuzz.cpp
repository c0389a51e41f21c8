// What an image build reads from files it did not write: a recipe (YAML, hand-written), an INF of
// a vendor's driver package, and member names of ZIPs and CABs. Each parses or is refused with a
// message; whatever passes as an image path stays inside the image root.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/utf16.h"
#include "compose/image_path.h"
#include "compose/inf_file.h"
#include "compose/recipe.h"

using namespace lifeboat;
using namespace lifeboat::compose;

namespace {

// An accepted path is canonical: it reads back as itself, and has no component that climbs.
void CheckInsideTheRoot(const std::string& path) {
  auto again = ImagePath(path);
  if (!again || *again != path) std::abort();
  if (path.find(':') != std::string::npos || !IsValidUtf8(path)) std::abort();
  for (size_t start = 1; start < path.size();) {
    const size_t end = std::min(path.find('\\', start), path.size());
    const std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") std::abort();
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto recipe = ParseRecipe(text, "recipe.yaml", "/recipes")) {
    for (const auto& tool : recipe->tools) CheckInsideTheRoot(tool.to);
    for (const auto* list : {&recipe->drivers, &recipe->files, &recipe->startup_config})
      for (const auto& placed : *list)
        if (!placed.to.empty()) CheckInsideTheRoot(placed.to);
  }
  (void)ReadInf(text);
  if (auto path = ImagePath(text)) CheckInsideTheRoot(*path);
  if (auto components = RelativeComponents(text)) {
    for (const auto& component : *components)
      if (component.empty() || component == "." || component == ".." ||
          component.find_first_of("/\\:") != std::string::npos)
        std::abort();
  }
  return 0;
}
