#include "common/image_manifest.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <vector>

#include "common/units.h"
#include "common/version.h"

namespace lifeboat {

namespace {

constexpr const char* kFormat = "lifeboat-image-manifest: 1";

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::optional<std::string> Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    if (s[i] == 'n')
      out += '\n';
    else if (s[i] == '\\')
      out += '\\';
    else
      return std::nullopt;
  }
  return out;
}

bool IsSha256Hex(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool IsDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9') return false;
  const std::chrono::year_month_day date{std::chrono::year(std::stoi(text.substr(0, 4))),
                                         std::chrono::month(std::stoul(text.substr(5, 2))),
                                         std::chrono::day(std::stoul(text.substr(8, 2)))};
  return date.ok();
}

std::string TodayUtc(std::chrono::system_clock::time_point now) {
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(now)};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

bool Expired(const std::string& expires, const std::string& today) {
  return !expires.empty() && today > expires;
}

std::string ManifestText(const ImageManifest& m) {
  return std::string(kFormat) + "\nversion: " + Escape(m.version) + "\nsha256: " + m.sha256 +
         "\nsize: " + std::to_string(m.size) + "\nname: " + Escape(m.name) +
         "\ndescription: " + Escape(m.description) + "\narchitecture: " + Escape(m.architecture) +
         "\n" + (m.expires.empty() ? "" : "expires: " + m.expires + "\n") +
         (m.contents_sha256.empty() ? "" : "contents-sha256: " + m.contents_sha256 + "\n");
}

Result<ImageManifest> ParseManifestText(const std::string& text) {
  static const std::vector<std::string> kKeys = {"version", "sha256",      "size",
                                                 "name",    "description", "architecture"};
  auto bad = [](const std::string& why) { return BadInput("manifest", "manifest: " + why); };
  if (text.empty() || text.back() != '\n') return bad("it does not end with a line break");
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kFormat)
    return bad("the first line is not '" + std::string(kFormat) + "'");
  ImageManifest m;
  for (const auto& key : kKeys) {
    if (!std::getline(in, line) || !line.starts_with(key + ": "))
      return bad("line '" + key + ": ...' is missing or out of order");
    auto value = Unescape(line.substr(key.size() + 2));
    if (!value) return bad("line '" + key + "' has a bad escape");
    if (key == "version") m.version = *value;
    if (key == "sha256") m.sha256 = *value;
    if (key == "name") m.name = *value;
    if (key == "description") m.description = *value;
    if (key == "architecture") m.architecture = *value;
    if (key == "size") {
      auto size = ParseNumber(*value);
      if (!size) return bad("size '" + *value + "' is not a number of bytes");
      m.size = *size;
    }
  }
  // The optional lines, in their order.
  bool more = static_cast<bool>(std::getline(in, line));
  if (more && line.starts_with("expires: ")) {
    m.expires = line.substr(9);
    more = static_cast<bool>(std::getline(in, line));
  }
  if (more && line.starts_with("contents-sha256: ")) {
    m.contents_sha256 = line.substr(17);
    more = static_cast<bool>(std::getline(in, line));
  }
  if (more) return bad("there is more after 'architecture' than expires and contents-sha256");
  if (!m.expires.empty() && !IsDate(m.expires))
    return bad("expires " + Quoted(m.expires) + " is not a date (YYYY-MM-DD)");
  if (!m.contents_sha256.empty() && !IsSha256Hex(m.contents_sha256))
    return bad("contents-sha256 is not 64 lower-case hex digits");
  // A signed version still names a folder on every machine: it is checked like any other.
  if (auto version = Version::Parse(m.version, "manifest"); !version)
    return bad("version " + Quoted(m.version) + " is not a version");
  if (!IsSha256Hex(m.sha256)) return bad("sha256 is not 64 lower-case hex digits");
  if (ManifestText(m) != text) return bad("it is not in its one canonical form");
  return m;
}

}  // namespace lifeboat
