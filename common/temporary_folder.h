// A folder made with mkdtemp and removed, with everything in it, when the object goes: staging
// folders for the image build and boot media, download folders. A crash leaves it behind, named
// by its pattern, never a partial result where the result belongs.
#pragma once

#include <string>

#include "common/error.h"

namespace lifeboat {

class TemporaryFolder {
 public:
  // `pattern` ends in "XXXXXX" (mkdtemp). Errors: kIo naming the folder's parent.
  [[nodiscard]] static Result<TemporaryFolder> Make(std::string pattern);
  // The staging folder for `output`: ".NAME.<purpose>-XXXXXX" beside it, on the same file system
  // so that the result is renamed into place.
  [[nodiscard]] static Result<TemporaryFolder> Beside(const std::string& output,
                                                      const std::string& purpose);

  TemporaryFolder(TemporaryFolder&& other) noexcept;
  TemporaryFolder& operator=(TemporaryFolder&& other) noexcept;
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  ~TemporaryFolder();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit TemporaryFolder(std::string path) : path_(std::move(path)) {}
  void Remove();
  std::string path_;
};

}  // namespace lifeboat
