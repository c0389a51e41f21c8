// Reads the JSON shape of proto/api_json.h back into a message: the contact reads the inventory
// that `lifeboat-agent inventory --json` prints. Protobuf only, no Poco: the contact is linked
// statically and cannot use Poco (agent/contact/CMakeLists.txt).
#pragma once

#include <google/protobuf/message.h>

#include <cctype>
#include <string>

namespace lifeboat::api {

// Fills `out` from `json`; false, with the parser's words in `error`, when it is not JSON of that
// message in this shape. Numbers pass through a double: exact up to 2^53 (9 PB in bytes).
bool MessageFromJson(const std::string& json, google::protobuf::Message* out, std::string* error);

// "RolloutState" -> "ROLLOUT_STATE_": the prefix of an enum's value names (the protobuf style
// guide's rule, which every enum of the API follows). Shared by the writer and the reader.
inline std::string EnumValuePrefix(const std::string& type_name) {
  std::string out;
  for (size_t i = 0; i < type_name.size(); ++i) {
    const char c = type_name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out + "_";
}

}  // namespace lifeboat::api
