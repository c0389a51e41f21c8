#include "controller/access.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/pki.h"
#include "common/sha256.h"
#include "common/version.h"

namespace lifeboat::controller {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(const std::string& name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

namespace {

std::string HashOf(const std::string& token) {
  return Sha256Hex({reinterpret_cast<const uint8_t*>(token.data()), token.size()});
}

}  // namespace

Result<void> Access::Bootstrap(const std::string& token_file) {
  auto existing = store_.ListOperators();
  if (!existing) return std::unexpected(existing.error());
  if (!existing->empty()) return {};
  auto token = AddOperator("admin", Role::kAdmin);
  if (!token) return std::unexpected(token.error());
  const std::string text = *token + "\n";
  int fd = open(token_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok) {
    (void)store_.RemoveOperator("admin");
    return Fail(ErrorCode::kIo,
                "write the first admin's token to " + token_file + ": " + std::strerror(errno));
  }
  return {};
}

Result<OperatorRecord> Access::Authorize(const std::string& authorization, Role needed) const {
  auto op = Identify(authorization);
  if (!op) return op;
  if (auto allowed = Allow(*op, needed); !allowed) return std::unexpected(allowed.error());
  return op;
}

Result<void> Access::Allow(const OperatorRecord& op, Role needed) {
  if (op.role < needed)
    return Fail(ErrorCode::kPermissionDenied, "operator " + op.name + " is a " + RoleName(op.role) +
                                                  "; this needs the " + RoleName(needed) + " role");
  return {};
}

Result<OperatorRecord> Access::Identify(const std::string& authorization) const {
  static const std::string kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer))
    return Fail(ErrorCode::kUnauthenticated,
                "no operator token (lifeboatctl --token-file FILE, or an Authorization: Bearer "
                "header)");
  auto found = store_.FindOperatorByToken(HashOf(authorization.substr(kBearer.size())));
  if (!found) return std::unexpected(found.error());
  if (!*found) return Fail(ErrorCode::kUnauthenticated, "this token belongs to no operator");
  return **found;
}

Result<std::string> Access::AddOperator(const std::string& name, Role role) {
  if (!ValidVersion(name))
    return Fail(ErrorCode::kInvalidArgument,
                "name: '" + name + "' is not 1 to 64 of letters, digits, '.', '_' or '-'");
  const std::string token = "lbo_" + RandomHex(32);
  if (auto r = store_.AddOperator({name, role, HashOf(token), ""}); !r)
    return std::unexpected(r.error());
  return token;
}

Result<std::vector<OperatorRecord>> Access::Operators() { return store_.ListOperators(); }

Result<void> Access::RemoveOperator(const std::string& name) { return store_.RemoveOperator(name); }

}  // namespace lifeboat::controller
