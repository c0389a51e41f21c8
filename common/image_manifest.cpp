#include "common/image_manifest.h"

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

}  // namespace

std::string ManifestText(const ImageManifest& m) {
  return std::string(kFormat) + "\nversion: " + Escape(m.version) + "\nsha256: " + m.sha256 +
         "\nsize: " + std::to_string(m.size) + "\nname: " + Escape(m.name) +
         "\ndescription: " + Escape(m.description) + "\narchitecture: " + Escape(m.architecture) +
         "\n";
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
  if (std::getline(in, line)) return bad("there is more after 'architecture'");
  // A signed version still names a folder on every machine: it is checked like any other.
  if (auto version = Version::Parse(m.version, "manifest"); !version)
    return bad("version " + Quoted(m.version) + " is not a version");
  if (m.sha256.size() != 64 || m.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    return bad("sha256 is not 64 lower-case hex digits");
  if (ManifestText(m) != text) return bad("it is not in its one canonical form");
  return m;
}

}  // namespace lifeboat
