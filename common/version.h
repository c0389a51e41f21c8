// Version names of recovery images: they name folders on machines and rows in the catalog.
#pragma once

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

}  // namespace lifeboat
