#include "image/fat_volume.h"

#include <unistd.h>

#include <cerrno>
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

}  // namespace lifeboat::image
