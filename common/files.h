// Small whole-file reads and writes for keys, certificates and tokens.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/error.h"

namespace lifeboat {

// The file's bytes; nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> ReadTextFile(const std::string& path);

// Writes `text` to path.partial with `mode` (0600 for secrets), fsyncs it and renames it over
// `path`, so a reader sees the old file or the whole new one. Errors: kIo naming the file.
[[nodiscard]] Result<void> WriteFileAtomically(const std::string& path, const std::string& text,
                                               mode_t mode);

}  // namespace lifeboat
