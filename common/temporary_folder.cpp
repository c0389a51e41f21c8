#include "common/temporary_folder.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace lifeboat {

namespace fs = std::filesystem;

Result<TemporaryFolder> TemporaryFolder::Make(std::string pattern) {
  if (mkdtemp(pattern.data()) == nullptr)
    return Fail(ErrorCode::kIo, "cannot make a folder in " +
                                    fs::path(pattern).parent_path().string() + ": " +
                                    std::strerror(errno));
  return TemporaryFolder(std::move(pattern));
}

Result<TemporaryFolder> TemporaryFolder::Beside(const std::string& output,
                                                const std::string& purpose) {
  const fs::path target = fs::absolute(output);
  return Make(
      (target.parent_path() / ("." + target.filename().string() + "." + purpose + "-XXXXXX"))
          .string());
}

TemporaryFolder::TemporaryFolder(TemporaryFolder&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

TemporaryFolder& TemporaryFolder::operator=(TemporaryFolder&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

TemporaryFolder::~TemporaryFolder() { Remove(); }

void TemporaryFolder::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace lifeboat
