// What a driver package's INF says about itself, read from its text (UTF-16LE with a BOM, UTF-8 or
// ANSI): the architectures its models target, from the [Manufacturer] section's decorations
// (NTamd64, NTx86.6.1, NTarm64...). Pure; the image builder refuses a driver whose INF does not
// target the base image's architecture, because drvload would fail on it at start-up.
#pragma once

#include <set>
#include <string>

#include "common/error.h"

namespace lifeboat::compose {

struct InfInfo {
  // Windows image architecture names (x86, x64, arm, arm64, ia64) the models are decorated for.
  // Undecorated models ("NT" or no decoration) count as x86, as Windows reads them.
  std::set<std::string> architectures;
  std::string driver_class;  // [Version] Class=, or ""
};

// Errors: kUnsupported when the file has no [Manufacturer] models (not a device driver drvload
// can load), naming what it lacks.
[[nodiscard]] Result<InfInfo> ReadInf(const std::string& bytes);

// The INF architecture decoration for a WIM's architecture name ("x64" → "amd64").
[[nodiscard]] std::string InfArchitecture(const std::string& image_architecture);

}  // namespace lifeboat::compose
