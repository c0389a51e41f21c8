#include "controller/listing.h"

#include <algorithm>

#include "common/sha256.h"

namespace lifeboat::controller {

uint32_t PageSize(uint32_t asked, uint32_t default_size, uint32_t max_size) {
  return asked == 0 ? default_size : std::min(asked, max_size);
}

std::string MakePageToken(const std::string& kind, const std::string& key) {
  const std::string text = kind + ":" + key;
  return ToHex({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<std::string> ReadPageToken(const std::string& kind, const std::string& token) {
  if (token.empty()) return std::string();
  const auto text = FromHex(token);
  if (!text || !text->starts_with(kind + ":"))
    return BadInput("page_token", "page_token: not a token of this listing (" + kind +
                                      "); give the next_page_token of its previous page");
  return text->substr(kind.size() + 1);
}

}  // namespace lifeboat::controller
