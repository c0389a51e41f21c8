// Version names of recovery images: they name folders on machines and rows in the catalog.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace lifeboat {

// This build's version (the CMake project version).
inline constexpr const char* kLifeboatVersion = LIFEBOAT_VERSION;

// 1 to 64 of A-Z a-z 0-9 . _ - (and not "." or ".."): what Lifeboat accepts as a name that becomes
// a folder, a row or a certificate's name: machine ids, operator names, and (through Version)
// image versions.
inline bool ValidName(std::string_view v) {
  if (v.empty() || v.size() > 64 || v == "." || v == "..") return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The order of versions as people read them: runs of digits compare as numbers, the rest byte by
// byte ("1.10" after "1.9", "2.0-rc1" before "2.0-rc2"; leading zeros do not count, "1.01" equals
// "1.1" in order only). <0, 0 or >0 as a is older than, level with or newer than b. It says
// whether an install goes up or down ("upgraded" or "downgraded"); the catalog does not sort by it.
inline int CompareVersions(const std::string& a, const std::string& b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      while (i < a.size() && a[i] == '0') ++i;
      while (j < b.size() && b[j] == '0') ++j;
      size_t ei = i, ej = j;
      while (ei < a.size() && digit(a[ei])) ++ei;
      while (ej < b.size() && digit(b[ej])) ++ej;
      if (ei - i != ej - j) return ei - i < ej - j ? -1 : 1;  // more digits: a larger number
      for (; i < ei; ++i, ++j)
        if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
    } else {
      if (a[i] != b[j])
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
      ++i;
      ++j;
    }
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
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

// A version of a recovery image. It names a folder on every machine and a row in the catalog, so it
// is checked once, where it enters Lifeboat (a command line, an RPC, a signed manifest, a folder
// found on Lifeboat's partition), and code past that point holds a Version and checks nothing.
class Version {
 public:
  // The version `text`, or invalid_argument naming `field` (the option or request field it came
  // in) when it is not a ValidName.
  [[nodiscard]] static Result<Version> Parse(std::string text,
                                             const std::string& field = "version") {
    if (!ValidName(text)) return BadInput(field, NotAName(field, text));
    return Version(std::move(text));
  }
  [[nodiscard]] const std::string& str() const { return text_; }
  // <0, 0 or >0 as this version is older than, level with or newer than `other` (CompareVersions).
  [[nodiscard]] int Compare(const Version& other) const {
    return CompareVersions(text_, other.text_);
  }
  bool operator==(const Version&) const = default;

 private:
  explicit Version(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace lifeboat
