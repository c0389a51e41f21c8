// Version names of recovery images: they name folders on machines and rows in the catalog.
#pragma once

#include <cstdio>
#include <string>

namespace lifeboat {

// This build's version (the CMake project version).
inline constexpr const char* kLifeboatVersion = LIFEBOAT_VERSION;

// 1 to 64 of A-Z a-z 0-9 . _ - (and not "." or "..").
inline bool ValidVersion(const std::string& v) {
  if (v.empty() || v.size() > 64 || v == "." || v == "..") return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A value a user gave, fit to quote in a message: at most 40 characters (then "..." and its
// length), control characters shown as \xNN. Messages must stay small: gRPC carries them in
// trailing metadata, which a 100,000-character echo would overflow.
inline std::string Quoted(const std::string& value) {
  std::string out = "'";
  const size_t shown = value.size() > 40 ? 40 : value.size();
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (shown < value.size()) out += "... (" + std::to_string(value.size()) + " characters)";
  return out;
}

// "FIELD: 'VALUE' is not a version or name: use 1 to 64 of ...", the value quoted as above; for
// versions and the other names built the same way (machine ids, operator names).
inline std::string NotAName(const std::string& field, const std::string& value) {
  return field + ": " + Quoted(value) +
         " is not a version or name: use 1 to 64 of letters, digits, '.', '_' or '-'";
}

}  // namespace lifeboat
