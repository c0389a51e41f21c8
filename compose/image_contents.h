// What a built image holds, read back from its build manifest (\Lifeboat\build.json, written by
// compose/build_manifest.cpp): the tools, drivers and extra files end users can reach, start-up
// and expiry, as the catalog shows them. And the statement a signer signs about an image
// (common/image_manifest.h), which covers the build manifest and the expiry. Poco::JSON; pure.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "common/image_manifest.h"
#include "image/wim_file.h"

namespace lifeboat::compose {

struct ImageContents {
  std::string name, version, description, architecture, expires;
  std::vector<std::string> tools;  // image paths of every file taken from `tools`
  struct Driver {
    std::string inf;
    std::vector<std::string> architectures;
    std::string driver_class;
  };
  std::vector<Driver> drivers;
  // Image paths of every other added file: files, debugging tools, definitions, symbols, config.
  std::vector<std::string> files;
  std::string startup_run;
};

// Errors: kCorrupt naming what is missing or malformed.
[[nodiscard]] Result<ImageContents> ParseImageContents(const std::string& build_manifest);

// The statement to sign about `image` as `version`: with its expiry and the SHA-256 of its build
// manifest when it has one. Errors: those of ParseImageContents.
[[nodiscard]] Result<ImageManifest> ManifestOf(const image::ImageInfo& image,
                                               const std::string& version);

// Refuses (reason "image-expired") an image whose build manifest says it expired before `today`
// (YYYY-MM-DD): nothing may install or carry it. An image without a manifest never expires.
// `what_happens` ends the message: "it is not installed, and nothing was changed".
[[nodiscard]] Result<void> RefuseExpired(const image::ImageInfo& image, const std::string& today,
                                         const std::string& what_happens);

}  // namespace lifeboat::compose
