#include "partition/disk_users.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lifeboat::partition {
namespace {

namespace fs = std::filesystem;

std::string ReadLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// mountinfo escapes blanks in paths as octal (\040).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Mount {
  std::string dev;  // "MAJ:MIN" as the kernel knows the filesystem's device
  std::string source;
  std::string point;
};

std::vector<Mount> Mounts() {
  std::vector<Mount> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, word;
    fields >> id >> parent >> dev >> root >> point;
    while (fields >> word && word != "-") {
    }
    std::string type, source;
    fields >> type >> source;
    mounts.push_back({dev, Unescape(source), Unescape(point)});
  }
  std::ifstream swaps("/proc/swaps");
  std::getline(swaps, line);  // header
  while (std::getline(swaps, line)) {
    std::istringstream fields(line);
    std::string file;
    fields >> file;
    mounts.push_back({"", Unescape(file), "swap"});
  }
  return mounts;
}

// A block device the disk's bytes reach, with the reason.
struct Mapper {
  std::string name;  // "loop3", "sda2", "dm-0"
  std::string how;
};

std::string Range(uint64_t offset, uint64_t size) {
  return "bytes " + std::to_string(offset) + "-" + std::to_string(offset + size - 1);
}

// Devices stacked on `name` (device-mapper, md), recursively.
void AddHolders(const std::string& name, const std::string& how, std::vector<Mapper>& out) {
  std::error_code ec;
  for (const auto& h : fs::directory_iterator("/sys/class/block/" + name + "/holders", ec)) {
    const std::string holder = h.path().filename();
    out.push_back({holder, "stacked on " + name + " (" + how + ")"});
    AddHolders(holder, out.back().how, out);
  }
}

bool SameFile(const struct stat& a, const struct stat& b) {
  if (S_ISBLK(a.st_mode) && S_ISBLK(b.st_mode)) return a.st_rdev == b.st_rdev;
  return !S_ISBLK(a.st_mode) && !S_ISBLK(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<std::optional<DiskUse>> FindDiskUse(const std::string& path) {
  struct stat disk {};
  if (stat(path.c_str(), &disk) != 0)
    return Fail(ErrorCode::kNotFound, path + ": cannot look up the disk");
  std::vector<Mapper> mappers;
  const uint64_t disk_size = static_cast<uint64_t>(disk.st_size);
  std::error_code ec;
  if (S_ISBLK(disk.st_mode)) {
    const fs::path sys = fs::path("/sys/dev/block") / (std::to_string(major(disk.st_rdev)) + ":" +
                                                       std::to_string(minor(disk.st_rdev)));
    const std::string name = fs::canonical(sys, ec).filename();
    if (!ec) {
      mappers.push_back({name, "the disk itself"});
      AddHolders(name, "the disk itself", mappers);
      for (const auto& child : fs::directory_iterator(sys, ec)) {
        if (!fs::exists(child.path() / "partition")) continue;
        const std::string part = child.path().filename();
        mappers.push_back({part, "partition device of " + path});
        AddHolders(part, "partition device of " + path, mappers);
      }
    }
  }
  // Loop devices backed by the disk (file or device), at any offset.
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    const std::string name = entry.path().filename();
    if (!name.starts_with("loop")) continue;
    std::string backing = ReadLine(entry.path() / "loop" / "backing_file");
    if (backing.empty()) continue;
    struct stat st {};
    if (stat(backing.c_str(), &st) != 0 || !SameFile(st, disk)) continue;
    const uint64_t offset =
        std::strtoull(ReadLine(entry.path() / "loop" / "offset").c_str(), nullptr, 10);
    uint64_t size =
        std::strtoull(ReadLine(entry.path() / "loop" / "sizelimit").c_str(), nullptr, 10);
    if (size == 0 && disk_size > offset) size = disk_size - offset;
    const std::string how = "loop device over " +
                            (size ? Range(offset, size) : "bytes from " + std::to_string(offset)) +
                            " of " + path;
    mappers.push_back({name, how});
    AddHolders(name, how, mappers);
  }

  const auto mounts = Mounts();
  for (const auto& m : mappers) {
    const std::string dev = ReadLine("/sys/class/block/" + m.name + "/dev");
    const std::string node = "/dev/" + m.name;
    for (const auto& mount : mounts) {
      bool same = !dev.empty() && mount.dev == dev;
      if (!same && mount.source.starts_with("/")) {
        // FUSE mounts (ntfs-3g) carry an anonymous device number: compare the source instead.
        const fs::path source = fs::canonical(mount.source, ec);
        same = !ec &&
               (source == node || (m.name.starts_with("dm-") && source == fs::canonical(node, ec)));
      }
      if (same) return std::optional<DiskUse>(DiskUse{node, mount.point, m.how});
    }
  }
  return std::optional<DiskUse>{};
}

}  // namespace lifeboat::partition
