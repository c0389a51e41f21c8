// Paths inside a recovery image, as Windows sees them from the image root ("\Windows\System32",
// X:\ once it runs), and the checks that keep every composed file inside that root. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace lifeboat::compose {

// A target path written in a recipe ('\Scripts', '/Scripts' and 'Scripts' are the same) as
// "\Scripts"; the root is "\". Refused (kInvalidArgument, saying why): "." or ".." components, a
// drive letter or any ':' (X:\… is the running image, not the image root; ':' also names NTFS
// streams), characters Windows forbids in names (< > " | ? * and control characters), names that
// end in a dot or a space, names that are not valid UTF-8.
[[nodiscard]] Result<std::string> ImagePath(std::string_view written);

// A member of a ZIP or CAB (or a file under a folder) as components relative to where it goes.
// '/' and '\' both separate. Refused like ImagePath, and also when absolute: a member may not
// choose where it lands.
[[nodiscard]] Result<std::vector<std::string>> RelativeComponents(std::string_view member);

// `base` (an ImagePath) with `components` appended.
[[nodiscard]] std::string JoinImagePath(const std::string& base,
                                        const std::vector<std::string>& components);

// The form two paths share when Windows takes them for the same file: ASCII letters folded to
// lower case (NTFS compares case-insensitively).
[[nodiscard]] std::string ImagePathKey(std::string_view image_path);

// The parent of an image path ("\A\B" → "\A", "\A" → "\"); the root has none ("").
[[nodiscard]] std::string ParentImagePath(const std::string& image_path);

}  // namespace lifeboat::compose
