#include "tests/support/bcd_oracle.h"

#include <Poco/Base64Decoder.h>

#include <cctype>
#include <cstdio>
#include <regex>
#include <sstream>

namespace lifeboat::test {

namespace {

struct Place {
  bool gpt = true;
  uint64_t offset = 0, size = 0;
};

Place StorePlace(const std::string& disk) {
  SfTable t = Sfdisk(disk);
  Place p;
  p.gpt = t.label == "gpt";
  for (const auto& part : t.partitions) {
    bool esp = part.type == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    if ((p.gpt && esp) || (!p.gpt && part.bootable)) {
      p.offset = part.start * t.sector_size;
      p.size = part.size * t.sector_size;
      break;
    }
  }
  return p;
}

// Runs a script with $dev set to a read-only (or writable) loop device over a byte range.
CommandResult WithLoop(const std::string& disk, uint64_t offset, uint64_t size, bool writable,
                       const std::string& script) {
  return Sh("dev=$(losetup --find --show " + std::string(writable ? "" : "--read-only ") +
            "--offset " + std::to_string(offset) + " --sizelimit " + std::to_string(size) + " " +
            Quote(disk) + ") || exit 1; trap 'losetup -d $dev' EXIT; " + script);
}

}  // namespace

std::string EspImage(const std::string& disk) {
  return disk + "@@" + std::to_string(StorePlace(disk).offset);
}

bool CopyStoreOut(const std::string& disk, const std::string& out) {
  Place p = StorePlace(disk);
  if (p.gpt) {
    return Sh("MTOOLS_SKIP_CHECK=1 mcopy -n -o -i " +
              Quote(disk + "@@" + std::to_string(p.offset)) + " ::/EFI/Microsoft/Boot/BCD " +
              Quote(out))
               .exit_code == 0;
  }
  return WithLoop(disk, p.offset, p.size, false, "ntfscat $dev /Boot/BCD > " + Quote(out))
             .exit_code == 0;
}

bool CopyStoreIn(const std::string& disk, const std::string& file) {
  Place p = StorePlace(disk);
  if (p.gpt) {
    return Sh("MTOOLS_SKIP_CHECK=1 mcopy -n -o -i " +
              Quote(disk + "@@" + std::to_string(p.offset)) + " " + Quote(file) +
              " ::/EFI/Microsoft/Boot/BCD")
               .exit_code == 0;
  }
  return WithLoop(disk, p.offset, p.size, true,
                  "ntfscp -f $dev " + Quote(file) + " /Boot/BCD >/dev/null")
             .exit_code == 0;
}

std::string NormalizedStore(const std::string& store, const std::string& placeholder_guid) {
  auto r = Sh("hivexml " + Quote(store));
  if (r.exit_code != 0) return "hivexml failed: " + r.err;
  std::string xml = std::regex_replace(r.out, std::regex("<byte_runs>.*?</byte_runs>"), "");
  xml = std::regex_replace(xml, std::regex("<mtime>.*?</mtime>"), "");
  // Binary values to hex, so that byte sequences can be found.
  std::string out;
  const std::regex base64("encoding=\"base64\" (key=\"[^\"]*\" )?value=\"([^\"]*)\"");
  std::sregex_iterator it(xml.begin(), xml.end(), base64), end;
  size_t last = 0;
  for (; it != end; ++it) {
    const auto& m = *it;
    out += xml.substr(last, static_cast<size_t>(m.position()) - last);
    std::istringstream in(m[2].str());
    Poco::Base64Decoder decoder(in);
    std::string bytes((std::istreambuf_iterator<char>(decoder)), {});
    std::string hex;
    char two[3];
    for (unsigned char c : bytes) {
      std::snprintf(two, sizeof two, "%02x", c);
      hex += two;
    }
    out += m[1].str() + "hex=\"" + hex + "\"";
    last = static_cast<size_t>(m.position() + m.length());
  }
  out += xml.substr(last);
  if (!placeholder_guid.empty()) {
    // GUID text -> its 16 bytes as stored (the first three fields little-endian).
    std::string g;
    for (char c : placeholder_guid)
      if (std::isxdigit(static_cast<unsigned char>(c)))
        g += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (g.size() == 32) {
      const std::string le = g.substr(6, 2) + g.substr(4, 2) + g.substr(2, 2) + g.substr(0, 2) +
                             g.substr(10, 2) + g.substr(8, 2) + g.substr(14, 2) + g.substr(12, 2) +
                             g.substr(16);
      for (size_t at = out.find(le); at != std::string::npos; at = out.find(le, at))
        out.replace(at, le.size(), "<partition>");
    }
  }
  return out;
}

std::map<std::string, std::string> StoreObjects(const std::string& store) {
  std::map<std::string, std::string> objects;
  auto r = Sh("hivexml " + Quote(store));
  if (r.exit_code != 0) return objects;
  std::string xml = std::regex_replace(r.out, std::regex("<byte_runs>.*?</byte_runs>"), "");
  size_t pos = xml.find("<node name=\"Objects\">");
  if (pos == std::string::npos) return objects;
  pos = xml.find('>', pos) + 1;
  int depth = 0;
  size_t start = 0;
  std::string name;
  while (pos < xml.size()) {
    size_t open = xml.find("<node ", pos), close = xml.find("</node>", pos);
    if (close == std::string::npos) break;
    if (open != std::string::npos && open < close) {
      if (depth == 0) {
        start = open;
        size_t q = xml.find('"', open) + 1;
        name = xml.substr(q, xml.find('"', q) - q);
      }
      ++depth;
      pos = open + 6;
    } else {
      if (depth == 0) break;  // the end of Objects
      --depth;
      pos = close + 7;
      if (depth == 0) objects[name] = xml.substr(start, pos - start);
    }
  }
  return objects;
}

std::string ElementValue(const std::string& store, const std::string& object,
                         const std::string& element) {
  auto r = Sh("printf 'cd \\\\Objects\\\\%s\\\\Elements\\\\%s\\nlsval\\n' " + Quote(object) + " " +
              Quote(element) + " | hivexsh " + Quote(store));
  if (r.exit_code != 0) return "";
  std::string out = r.out;
  size_t eq = out.find('=');
  if (eq == std::string::npos) return "";
  out = out.substr(eq + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::vector<uint8_t> HexBytes(const std::string& value) {
  std::vector<uint8_t> bytes;
  size_t colon = value.find(':');
  if (colon == std::string::npos) return bytes;
  std::stringstream ss(value.substr(colon + 1));
  std::string byte;
  while (std::getline(ss, byte, ','))
    bytes.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
  return bytes;
}

std::string RamdiskPath(const std::vector<uint8_t>& e) {
  std::string path;
  for (size_t i = 0x8c; i + 1 < e.size(); i += 2) {
    if (e[i] == 0 && e[i + 1] == 0) break;
    path += static_cast<char>(e[i]);
  }
  return path;
}

bool NtfsCat(const std::string& disk, uint64_t offset, uint64_t size, const std::string& path,
             const std::string& out) {
  // -f: also from a volume marked for chkdsk, as ntfsresize leaves the ones it resized.
  return WithLoop(disk, offset, size, false, "ntfscat -f $dev " + Quote(path) + " > " + Quote(out))
             .exit_code == 0;
}

std::vector<std::string> NtfsLs(const std::string& disk, uint64_t offset, uint64_t size,
                                const std::string& path) {
  std::vector<std::string> names;
  auto r = WithLoop(disk, offset, size, false, "ntfsls $dev -p " + Quote(path));
  if (r.exit_code != 0) return names;
  std::stringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty() && line != "." && line != "..") names.push_back(line);
  return names;
}

}  // namespace lifeboat::test
