// A boot medium's BCD store, made from a template store (bcd/media_entry.h says what changes) and
// decoded again before it is used. Blocks on file I/O (hivex edits a file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bcd/media_entry.h"
#include "common/error.h"

namespace lifeboat::media {

// Writes the store to `path`: the template's bytes (or, when there is no template, a new empty
// store) with the entry saved into them, then reads it back and checks that it boots exactly
// `spec`. Errors: kCorrupt (the
// template is not a BCD store, or the result does not decode to the entry), kIo.
[[nodiscard]] Result<void> WriteMediaStore(const std::vector<uint8_t>& template_store,
                                           const bcd::MediaEntrySpec& spec,
                                           const std::string& path);

}  // namespace lifeboat::media
