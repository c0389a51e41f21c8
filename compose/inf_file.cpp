#include "compose/inf_file.h"

#include <map>
#include <vector>

#include "common/utf16.h"

namespace lifeboat::compose {

namespace {

std::string Lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string Text(const std::string& bytes) {
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xFE) {
    std::span<const uint8_t> units(reinterpret_cast<const uint8_t*>(bytes.data()) + 2,
                                   bytes.size() - 2);
    std::string text;
    for (const auto& part : Utf16LeToUtf8Parts(units)) text += part;
    return text;
  }
  if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) return bytes.substr(3);
  return bytes;  // ANSI: the syntax that matters here is ASCII
}

// Section name (lower case) → its lines, comments (';' outside quotes) removed and continuation
// lines ('\' at the end) joined.
std::map<std::string, std::vector<std::string>> Sections(const std::string& text) {
  std::map<std::string, std::vector<std::string>> sections;
  std::vector<std::string>* current = nullptr;
  std::string pending;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') quoted = !quoted;
      if (line[i] == ';' && !quoted) {
        line.resize(i);
        break;
      }
    }
    line = Trim(line);
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1);
      continue;
    }
    line = Trim(pending + line);
    pending.clear();
    if (line.empty()) continue;
    if (line.front() == '[' && line.find(']') != std::string::npos) {
      current = &sections[Lower(Trim(line.substr(1, line.find(']') - 1)))];
      continue;
    }
    if (current) current->push_back(line);
  }
  return sections;
}

std::vector<std::string> Fields(const std::string& list) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    fields.push_back(Trim(list.substr(start, comma - start)));
    start = comma + 1;
  }
  return fields;
}

// "NTamd64.10.0...16299" → "x64"; "NT" and "NT.6.1" → "x86" (undecorated models are x86 only).
std::string ArchitectureOf(const std::string& decoration) {
  std::string lower = Lower(decoration);
  if (lower.rfind("nt", 0) != 0) return "";
  const std::string arch = lower.substr(
      2, lower.find('.') == std::string::npos ? std::string::npos : lower.find('.') - 2);
  if (arch.empty() || arch == "x86") return "x86";
  if (arch == "amd64") return "x64";
  if (arch == "arm" || arch == "arm64" || arch == "ia64") return arch;
  return arch;
}

}  // namespace

Result<InfInfo> ReadInf(const std::string& bytes) {
  const auto sections = Sections(Text(bytes));
  InfInfo info;
  if (auto version = sections.find("version"); version != sections.end()) {
    for (const auto& line : version->second) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos && Lower(Trim(line.substr(0, eq))) == "class")
        info.driver_class = Trim(line.substr(eq + 1));
    }
  }
  auto manufacturer = sections.find("manufacturer");
  if (manufacturer == sections.end() || manufacturer->second.empty())
    return Fail(ErrorCode::kUnsupported,
                "has no [Manufacturer] models: not a device driver that drvload can load");
  for (const auto& line : manufacturer->second) {
    const size_t eq = line.find('=');
    const std::vector<std::string> fields =
        Fields(eq == std::string::npos ? line : line.substr(eq + 1));
    if (fields.size() <= 1) {
      info.architectures.insert("x86");
      continue;
    }
    for (size_t i = 1; i < fields.size(); ++i) {
      const std::string arch = ArchitectureOf(fields[i]);
      if (!arch.empty()) info.architectures.insert(arch);
    }
  }
  return info;
}

std::string InfArchitecture(const std::string& image_architecture) {
  return image_architecture == "x64" ? "amd64" : image_architecture;
}

}  // namespace lifeboat::compose
