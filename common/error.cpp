#include "common/error.h"

namespace lifeboat {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kRefused:
      return "refused";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kTool:
      return "tool";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kDatabase:
      return "database";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kVerification:
      return "verification";
  }
  return "unknown";
}

}  // namespace lifeboat
