#include "image/wimlib_support.h"

#include <cerrno>
#include <mutex>

namespace lifeboat::image {

void InitWimlib() {
  static std::once_flag once;
  std::call_once(once, [] { wimlib_global_init(WIMLIB_INIT_FLAG_DEFAULT_CASE_INSENSITIVE); });
}

std::string WimError(int code) {
  return wimlib_get_error_string(static_cast<wimlib_error_code>(code));
}

Result<void> OpenWim(const std::string& path, Wim& wim, bool check_integrity) {
  InitWimlib();
  int flags =
      (check_integrity ? WIMLIB_OPEN_FLAG_CHECK_INTEGRITY : 0) | WIMLIB_OPEN_FLAG_ERROR_IF_SPLIT;
  int rc = wimlib_open_wim(path.c_str(), flags, wim.out());
  if (rc == 0) return {};
  switch (rc) {
    case WIMLIB_ERR_OPEN:
      if (errno == ENOENT) return Fail(ErrorCode::kNotFound, path + ": no such file");
      return Fail(ErrorCode::kIo, path + ": " + WimError(rc));
    case WIMLIB_ERR_IS_SPLIT_WIM:
      return Fail(ErrorCode::kUnsupported,
                  path + " is one part of a split WIM; join it first (wimlib-imagex join)");
    case WIMLIB_ERR_INTEGRITY:
      return Fail(ErrorCode::kCorrupt, path + " fails its integrity check: the file is damaged");
    default:
      return Fail(ErrorCode::kCorrupt, path + " is not a usable WIM: " + WimError(rc));
  }
}

const char* ArchitectureName(const char* arch) {
  if (arch == nullptr) return "unknown";
  std::string a = arch;
  if (a == "0") return "x86";
  if (a == "9") return "x64";
  if (a == "12") return "arm64";
  if (a == "5") return "arm";
  return "unknown";
}

}  // namespace lifeboat::image
