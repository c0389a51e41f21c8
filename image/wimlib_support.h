// What the image module's wimlib files share (wim_file.cpp, wim_compose.cpp): library start-up,
// error text, an owning handle, opening with integrity checks. Private to image/: it includes
// wimlib.h, which nothing outside this module may.
#pragma once

#include <wimlib.h>

#include <string>

#include "common/error.h"

namespace lifeboat::image {

// Windows paths are case-insensitive; so are lookups in a WIM once wimlib is told so.
void InitWimlib();

std::string WimError(int code);

// Closes the WIMStruct when it goes out of scope. One per thread, as wimlib requires.
class Wim {
 public:
  Wim() = default;
  Wim(const Wim&) = delete;
  Wim& operator=(const Wim&) = delete;
  ~Wim() {
    if (wim_) wimlib_free(wim_);
  }
  WIMStruct** out() { return &wim_; }
  WIMStruct* get() const { return wim_; }

 private:
  WIMStruct* wim_ = nullptr;
};

// Opens a whole (not split) WIM, checking its integrity table when it has one (unless told not to:
// the check reads the whole file). Errors: kNotFound, kIo, kUnsupported (split), kCorrupt.
Result<void> OpenWim(const std::string& path, Wim& wim, bool check_integrity = true);

// x86, x64, arm64, arm or unknown, from the image's WINDOWS/ARCH property.
const char* ArchitectureName(const char* arch);

}  // namespace lifeboat::image
