#include "image/fat_volume.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/process.h"

namespace lifeboat::image {

namespace {

std::string MtoolsPath(const std::string& path) {
  std::string out = "::";
  for (char c : path) out += c == '\\' ? '/' : c;
  if (out == "::") out += "/";
  return out;
}

// mtools complains about geometry it does not expect in a partition inside an image.
std::vector<std::string> Mtool(const std::string& tool) {
  return {"env", "MTOOLS_SKIP_CHECK=1", tool};
}

// A temporary file that is removed when it goes.
class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/lifeboat-fat-XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0) {
      close(fd);
      path_ = name;
    }
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool NotFoundText(const std::string& err) {
  return err.find("not found") != std::string::npos ||
         err.find("No such file") != std::string::npos;
}

}  // namespace

FatVolume::FatVolume(std::string device, uint64_t offset)
    : device_(std::move(device)), offset_(offset) {}

std::string FatVolume::Image() const { return device_ + "@@" + std::to_string(offset_); }

Result<bool> FatVolume::Exists(const std::string& path) const {
  auto argv = Mtool("mdir");
  argv.insert(argv.end(), {"-b", "-i", Image(), MtoolsPath(path)});
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code == 0) return true;
  if (NotFoundText(run->err + run->out)) return false;
  return Fail(ErrorCode::kTool, "look for " + path + " on the FAT volume at byte " +
                                    std::to_string(offset_) + " of " + device_ + ": " +
                                    run->Summary("mdir"));
}

Result<std::vector<std::string>> FatVolume::List(const std::string& dir) const {
  auto argv = Mtool("mdir");
  argv.insert(argv.end(), {"-b", "-i", Image(), MtoolsPath(dir) + "/"});
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0) {
    if (NotFoundText(run->err + run->out))
      return Fail(ErrorCode::kNotFound, dir + " does not exist on the FAT volume of " + device_);
    return Fail(ErrorCode::kTool, "list " + dir + " on " + device_ + ": " + run->Summary("mdir"));
  }
  std::vector<std::string> names;
  size_t start = 0;
  while (start < run->out.size()) {
    size_t end = run->out.find('\n', start);
    if (end == std::string::npos) end = run->out.size();
    std::string line = run->out.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '/' || line.back() == '\r')) line.pop_back();
    size_t slash = line.find_last_of('/');
    if (!line.empty()) names.push_back(slash == std::string::npos ? line : line.substr(slash + 1));
  }
  return names;
}

Result<std::vector<uint8_t>> FatVolume::ReadFile(const std::string& path) const {
  TempFile local;
  if (local.path().empty())
    return Fail(ErrorCode::kIo, std::string("temporary file: ") + std::strerror(errno));
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-n", "-o", "-i", Image(), MtoolsPath(path), local.path()});
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0) {
    if (NotFoundText(run->err + run->out))
      return Fail(ErrorCode::kNotFound, path + " does not exist on the FAT volume at byte " +
                                            std::to_string(offset_) + " of " + device_);
    return Fail(ErrorCode::kTool,
                "read " + path + " from " + device_ + ": " + run->Summary("mcopy"));
  }
  std::ifstream in(local.path(), std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Result<void> FatVolume::WriteFile(const std::string& path,
                                  const std::vector<uint8_t>& bytes) const {
  TempFile local;
  if (local.path().empty())
    return Fail(ErrorCode::kIo, std::string("temporary file: ") + std::strerror(errno));
  {
    std::ofstream out(local.path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) return Fail(ErrorCode::kIo, "write temporary file " + local.path());
  }
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-n", "-o", "-i", Image(), local.path(), MtoolsPath(path)});
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0)
    return Fail(ErrorCode::kTool,
                "write " + path + " to " + device_ + ": " + run->Summary("mcopy"));
  return {};
}

uint32_t FatVolume::ClusterSectors(uint64_t sectors) {
  // 65,525 clusters and the two tables (4 bytes a cluster each) with a margin of 2 %.
  constexpr uint64_t kFewestClusters = 66'900;
  uint32_t cluster = 64;
  while (cluster > 1 && sectors / cluster < kFewestClusters) cluster /= 2;
  return cluster;
}

Result<FatVolume> FatVolume::Format(const std::string& device, uint64_t offset, uint64_t sectors,
                                    const std::string& label, uint32_t serial) {
  if (offset % 512 != 0)
    return Fail(ErrorCode::kInvalidArgument, "a FAT volume must start on a 512-byte sector");
  char id[16];
  std::snprintf(id, sizeof id, "%08X", serial);
  // --offset is in sectors, the size in 1 KiB blocks; -F 32 even when small enough for FAT16:
  // UEFI firmware must read it, and FAT32 is what the UEFI specification names for removable media.
  auto run = RunProcess({"mkfs.vfat", "-F", "32", "-s", std::to_string(ClusterSectors(sectors)),
                         "--offset", std::to_string(offset / 512), "-n", label, "-i", id, device,
                         std::to_string(sectors / 2)});
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0)
    return Fail(ErrorCode::kTool, "make a FAT32 file system at byte " + std::to_string(offset) +
                                      " of " + device + ": " + run->Summary("mkfs.vfat"));
  return FatVolume(device, offset);
}

Result<void> FatVolume::CopyTreeIn(const std::string& local_folder) const {
  std::error_code ec;
  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(local_folder, ec))
    entries.push_back(entry.path().string());
  if (ec) return Fail(ErrorCode::kIo, "read " + local_folder + ": " + ec.message());
  if (entries.empty()) return {};
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-s", "-n", "-o", "-i", Image()});
  argv.insert(argv.end(), entries.begin(), entries.end());
  argv.push_back("::/");
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0)
    return Fail(ErrorCode::kTool,
                "copy " + local_folder + " to " + device_ + ": " + run->Summary("mcopy"));
  return {};
}

Result<void> FatVolume::CopyIn(const std::string& local_file, const std::string& path) const {
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-n", "-o", "-i", Image(), local_file, MtoolsPath(path)});
  auto run = RunProcess(argv);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0)
    return Fail(ErrorCode::kTool, "copy " + local_file + " to " + path + " on " + device_ + ": " +
                                      run->Summary("mcopy"));
  return {};
}

Result<void> FatVolume::CopyInFrom(const std::function<size_t(char*, size_t)>& feed,
                                   const std::string& path) const {
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-n", "-o", "-i", Image(), "-", MtoolsPath(path)});
  auto run = RunProcessFed(argv, feed);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0)
    return Fail(ErrorCode::kTool,
                "write " + path + " on " + device_ + ": " + run->Summary("mcopy"));
  return {};
}

Result<void> FatVolume::ReadFileInto(const std::string& path,
                                     const std::function<void(std::string_view)>& chunk) const {
  auto argv = Mtool("mcopy");
  argv.insert(argv.end(), {"-n", "-i", Image(), MtoolsPath(path), "-"});
  auto run = RunProcessStreaming(argv, chunk);
  LIFEBOAT_TRY(run);
  if (run->exit_code != 0) {
    if (NotFoundText(run->err))
      return Fail(ErrorCode::kNotFound, path + " does not exist on the FAT volume of " + device_);
    return Fail(ErrorCode::kTool,
                "read " + path + " from " + device_ + ": " + run->Summary("mcopy"));
  }
  return {};
}

}  // namespace lifeboat::image
