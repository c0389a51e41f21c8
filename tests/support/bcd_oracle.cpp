#include "tests/support/bcd_oracle.h"

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
  return WithLoop(disk, offset, size, false, "ntfscat $dev " + Quote(path) + " > " + Quote(out))
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
