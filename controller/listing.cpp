#include "controller/listing.h"

#include <algorithm>

namespace lifeboat::controller {

namespace {

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(const std::string& text) {
  if (text.size() % 2) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = value(text[i]), low = value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

}  // namespace

uint32_t PageSize(uint32_t asked, uint32_t default_size, uint32_t max_size) {
  return asked == 0 ? default_size : std::min(asked, max_size);
}

std::string MakePageToken(const std::string& kind, const std::string& key) {
  return Hex(kind + ":" + key);
}

Result<std::string> ReadPageToken(const std::string& kind, const std::string& token) {
  if (token.empty()) return std::string();
  const auto text = Unhex(token);
  if (!text || !text->starts_with(kind + ":"))
    return BadInput("page_token", "page_token: not a token of this listing (" + kind +
                                      "); give the next_page_token of its previous page");
  return text->substr(kind.size() + 1);
}

}  // namespace lifeboat::controller
