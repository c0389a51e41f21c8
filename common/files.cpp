#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace lifeboat {

std::optional<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string{std::istreambuf_iterator<char>(in), {}};
}

Result<void> WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string temp = path + ".partial";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) close(fd);
  std::error_code ec;
  if (ok) std::filesystem::rename(temp, path, ec);
  if (!ok || ec)
    return Fail(ErrorCode::kIo,
                "write " + path + ": " + (ec ? ec.message() : std::string(std::strerror(saved))));
  return {};
}

}  // namespace lifeboat
