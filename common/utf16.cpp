#include "common/utf16.h"

namespace lifeboat {

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<uint8_t>(text[i]);
    size_t extra;
    uint32_t cp, least;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xc2 && lead < 0xe0) {
      extra = 1, cp = lead & 0x1f, least = 0x80;
    } else if (lead >= 0xe0 && lead < 0xf0) {
      extra = 2, cp = lead & 0x0f, least = 0x800;
    } else if (lead >= 0xf0 && lead < 0xf5) {
      extra = 3, cp = lead & 0x07, least = 0x10000;
    } else {
      return false;  // a continuation byte first, or a lead byte no code point needs
    }
    if (i + extra >= text.size()) return false;  // cut short
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

std::vector<uint8_t> Utf8ToUtf16Le(const std::string& text) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = static_cast<uint8_t>(text[i]);
    size_t extra = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
    if (extra) cp &= (0x3f >> extra);
    for (size_t k = 1; k <= extra && i + k < text.size(); ++k)
      cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3f);
    i += extra + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      uint16_t hi = static_cast<uint16_t>(0xd800 + (cp >> 10)),
               lo = static_cast<uint16_t>(0xdc00 + (cp & 0x3ff));
      out.insert(out.end(), {static_cast<uint8_t>(hi), static_cast<uint8_t>(hi >> 8),
                             static_cast<uint8_t>(lo), static_cast<uint8_t>(lo >> 8)});
    } else {
      out.insert(out.end(), {static_cast<uint8_t>(cp), static_cast<uint8_t>(cp >> 8)});
    }
  }
  return out;
}

namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

std::vector<std::string> Utf16LeToUtf8Parts(std::span<const uint8_t> data) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    uint32_t unit = data[i] | (data[i + 1] << 8);
    if (unit == 0) {
      parts.emplace_back();
      continue;
    }
    if (unit >= 0xd800 && unit < 0xdc00 && i + 3 < data.size()) {
      uint32_t lo = data[i + 2] | (data[i + 3] << 8);
      if (lo >= 0xdc00 && lo < 0xe000) {
        AppendUtf8(parts.back(), 0x10000 + ((unit - 0xd800) << 10) + (lo - 0xdc00));
        i += 2;
        continue;
      }
    }
    AppendUtf8(parts.back(), unit);
  }
  return parts;
}

}  // namespace lifeboat
