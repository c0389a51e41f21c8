#include "controller/access.h"

#include <ctime>
#include <sstream>

#include "common/enum_table.h"
#include "common/files.h"
#include "common/pki.h"
#include "common/sha256.h"
#include "common/version.h"

namespace lifeboat::controller {

namespace {
constexpr auto kRoleWords = MakeEnumTable<Role, const char*>({
    {Role::kViewer, "viewer"},
    {Role::kOperator, "operator"},
    {Role::kAdmin, "admin"},
});
}  // namespace

const char* RoleName(Role role) { return kRoleWords.To(role).value_or("viewer"); }

std::optional<Role> ParseRole(const std::string& name) { return kRoleWords.From(name.c_str()); }

namespace {

std::string HashOf(const std::string& token) {
  return Sha256Hex({reinterpret_cast<const uint8_t*>(token.data()), token.size()});
}

}  // namespace

Result<bool> Access::Bootstrap(const std::string& token_file) {
  auto revoked = store_.RevokedMachines();
  LIFEBOAT_TRY(revoked);
  {
    std::unique_lock lock(revoked_mutex_);
    revoked_.insert(revoked->begin(), revoked->end());
  }
  auto existing = store_.ListOperators();
  LIFEBOAT_TRY(existing);
  if (!existing->empty()) return false;
  auto token = AddOperator("admin", Role::kAdmin);
  LIFEBOAT_TRY(token);
  if (auto r = WriteFileAtomically(token_file, *token + "\n", 0600); !r) {
    (void)store_.RemoveOperator("admin");
    return Fail(ErrorCode::kIo, "the first admin's token: " + r.error().message);
  }
  return true;
}

Result<OperatorRecord> Access::Authorize(const std::string& authorization, Role needed) const {
  auto op = Identify(authorization);
  if (!op) return op;
  LIFEBOAT_TRY(Allow(*op, needed));
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
  LIFEBOAT_TRY(found);
  if (!*found) return Fail(ErrorCode::kUnauthenticated, "this token belongs to no operator");
  return **found;
}

Result<std::string> Access::AddOperator(const std::string& name, Role role) {
  if (!ValidName(name)) return BadInput("name", NotAName("name", name));
  const std::string token = "lbo_" + RandomHex(32);
  LIFEBOAT_TRY(store_.AddOperator({name, role, HashOf(token), ""}));
  return token;
}

Result<std::vector<OperatorRecord>> Access::Operators() { return store_.ListOperators(); }

Result<Access::EnrollmentToken> Access::CreateEnrollmentToken(
    const std::map<std::string, std::string>& labels, uint32_t seconds,
    const std::string& created_by, uint32_t uses) {
  if (uses == 0) uses = 1;
  if (uses > kMaxTokenUses)
    return BadInput("uses", "uses: at most " + std::to_string(kMaxTokenUses));
  if (seconds == 0) seconds = 24 * 3600;
  if (seconds > 30 * 24 * 3600)
    return BadInput("expires_seconds", "expires_seconds: at most 30 days");
  std::string text;
  for (const auto& [k, v] : labels) {
    if (k.empty() || k.find_first_of("=\n") != std::string::npos ||
        v.find('\n') != std::string::npos)
      return BadInput("labels", "labels: '" + k + "' is not a label key");
    text += k + "=" + v + "\n";
  }
  const std::string token = "lbe_" + RandomHex(32);
  const std::time_t expires = std::time(nullptr) + seconds;
  const std::string hash = HashOf(token);
  LIFEBOAT_TRY(store_.AddEnrollmentToken(hash, text, expires, created_by, uses));
  char at[32];
  std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expires));
  return EnrollmentToken{token, hash.substr(0, 12), at};
}

Result<void> Access::RevokeEnrollmentToken(const std::string& id) {
  if (id.size() != 12 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return BadInput("id",
                    "id: '" + id + "' is not a token id (12 hex digits, as token list shows)");
  return store_.RevokeEnrollmentToken(id);
}

Result<std::map<std::string, std::string>> Access::UseEnrollmentToken(
    const std::string& token, const std::string& machine_id) {
  auto text = store_.UseEnrollmentToken(HashOf(token), machine_id, std::time(nullptr));
  LIFEBOAT_TRY(text);
  std::map<std::string, std::string> labels;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) labels[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return labels;
}

Result<void> Access::Revoke(const std::string& machine_id, const std::string& by) {
  if (auto r = store_.RevokeMachine(machine_id, by); !r) return r;
  std::unique_lock lock(revoked_mutex_);
  revoked_.insert(machine_id);
  return {};
}

bool Access::IsRevoked(const std::string& machine_id) const {
  std::shared_lock lock(revoked_mutex_);
  return revoked_.contains(machine_id);
}

Result<void> Access::RemoveOperator(const std::string& name) { return store_.RemoveOperator(name); }

}  // namespace lifeboat::controller
