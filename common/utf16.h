// UTF-16LE, as Windows stores text on disk (BCD elements, BitLocker descriptions), to and from
// the UTF-8 Lifeboat uses everywhere else.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

// Whether `text` is well-formed UTF-8: no stray continuation bytes, no truncated or overlong
// sequences, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// UTF-8 to UTF-16LE, without a terminating NUL.
std::vector<uint8_t> Utf8ToUtf16Le(const std::string& text);

// UTF-16LE units to UTF-8 strings split at NUL units (so "a\0b\0" gives "a", "b", ""). Unpaired
// surrogates are kept as their code points; a trailing odd byte is ignored.
std::vector<std::string> Utf16LeToUtf8Parts(std::span<const uint8_t> data);

}  // namespace lifeboat
