// Errors that cross module boundaries: a category, and a message that gathers context on the way
// up.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace lifeboat {

enum class ErrorCode {
  kInvalidArgument,   // the caller asked for something malformed
  kNotFound,          // a path, partition or record does not exist
  kUnsupported,       // the disk or volume is of a kind Lifeboat refuses to change
  kRefused,           // the planner refused; the message says why and what to do
  kBusy,              // the disk is in use or locked by another process
  kIo,                // reading or writing the disk failed
  kTool,              // an external tool (ntfsresize, mkntfs, losetup) failed
  kCorrupt,           // on-disk structures are damaged
  kDatabase,          // a state database failed (the agent's journal, the controller's fleet store)
  kVerification,      // a step finished but its result is not what was planned
  kAlreadyExists,     // the thing to create exists already (an image version)
  kConflict,          // the request is valid but the current state forbids it
  kUnauthenticated,   // no credentials, or ones nobody issued
  kPermissionDenied,  // known credentials whose role does not allow this, or a revoked identity
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
  // The option or request field the error is about ("version", "machine_id"); empty when none.
  // JSON output carries it as the error's "field" (docs/json.md).
  std::string field = {};
  // For a refusal (kRefused): why, as a word ("no-room", "boot-store-unusable"); JSON carries it
  // as the error's "reason". Refuse() is the one way to make a refusal, so none lacks it.
  std::string reason = {};

  // Returns a copy whose message is prefixed with what was being done: "shrink NTFS ...:
  // <message>".
  [[nodiscard]] Error Context(const std::string& what) const {
    return {code, what + ": " + message, field, reason};
  }
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// A refusal: the state of the disk or the request is one Lifeboat will not act on, and nothing was
// changed. `reason` is a word that tools can act on; `message` says what, where, why, what to do.
inline std::unexpected<Error> Refuse(std::string reason, std::string message) {
  return std::unexpected(Error{ErrorCode::kRefused, std::move(message), {}, std::move(reason)});
}

// A malformed input named by its option or request field: invalid_argument with that field.
inline std::unexpected<Error> BadInput(std::string field, std::string message) {
  return std::unexpected(Error{ErrorCode::kInvalidArgument, std::move(message), std::move(field)});
}

// Returns from the enclosing function (which returns a Result, or another std::expected with the
// same error type) with the error of `result` when it failed: the one way an error is passed up
// unchanged. `result` is evaluated once and not copied.
#define LIFEBOAT_TRY(result)                                    \
  do {                                                          \
    if (auto&& lifeboat_try_ = (result); !lifeboat_try_)        \
      return std::unexpected(std::move(lifeboat_try_).error()); \
  } while (false)

// Adds context to the error of a failed result; passes a success through unchanged.
template <typename T>
Result<T> WithContext(Result<T> result, const std::string& what) {
  if (!result) return std::unexpected(result.error().Context(what));
  return result;
}

}  // namespace lifeboat
