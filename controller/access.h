// Who may do what on the controller. Operators present a bearer token; the controller keeps only
// its SHA-256 and the role it carries: viewer (status queries), operator (rollouts and help-desk
// requests), admin (images, operators, enrollment tokens, revocation). On the first start, with no
// operator yet, an admin is made and its token written to a file only root can read.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/access_store.h"
#include "controller/model.h"

namespace lifeboat::controller {

class Access {
 public:
  explicit Access(AccessStore& store) : store_(store) {}

  // With no operator yet: makes "admin" (role admin) and writes its token to `token_file`, mode
  // 0600; returns whether it did. Loads the revoked machines.
  [[nodiscard]] Result<bool> Bootstrap(const std::string& token_file);

  // An enrollment token for `uses` agents (1: one machine; more: a site's key for zero-touch
  // enrollment, at most kMaxTokenUses), valid for `seconds`, giving each machine `labels`. Returns
  // the token (shown only now), its id and when it expires (RFC 3339). kInvalidArgument.
  struct EnrollmentToken {
    std::string token;
    std::string id;
    std::string expires_at;
  };
  static constexpr uint32_t kMaxTokenUses = 100000;
  [[nodiscard]] Result<EnrollmentToken> CreateEnrollmentToken(
      const std::map<std::string, std::string>& labels, uint32_t seconds,
      const std::string& created_by, uint32_t uses = 1);
  // Uses a token for `machine_id` and returns its labels. kUnauthenticated (unknown, spent,
  // revoked, expired).
  [[nodiscard]] Result<std::map<std::string, std::string>> UseEnrollmentToken(
      const std::string& token, const std::string& machine_id);
  [[nodiscard]] Result<std::vector<EnrollmentTokenRecord>> EnrollmentTokens() {
    return store_.EnrollmentTokens();
  }
  // Stops a token working at once (idempotent). kInvalidArgument, kNotFound.
  [[nodiscard]] Result<void> RevokeEnrollmentToken(const std::string& id);

  // Revoked machines are refused every agent call and enrollment (kept in memory: every
  // heartbeat asks).
  [[nodiscard]] Result<void> Revoke(const std::string& machine_id, const std::string& by);
  [[nodiscard]] bool IsRevoked(const std::string& machine_id) const;

  // The operator behind `authorization` ("Bearer <token>"). Errors: kUnauthenticated (none,
  // malformed, or a token nobody was given).
  [[nodiscard]] Result<OperatorRecord> Identify(const std::string& authorization) const;
  // kPermissionDenied, naming both roles, unless the operator's role is at least `needed`.
  [[nodiscard]] static Result<void> Allow(const OperatorRecord& op, Role needed);
  // Identify, then Allow.
  [[nodiscard]] Result<OperatorRecord> Authorize(const std::string& authorization,
                                                 Role needed) const;

  // Makes an operator and returns their token (shown once). kInvalidArgument, kAlreadyExists.
  [[nodiscard]] Result<std::string> AddOperator(const std::string& name, Role role);
  [[nodiscard]] Result<std::vector<OperatorRecord>> Operators();
  [[nodiscard]] Result<void> RemoveOperator(const std::string& name);

  // Appends to the audit log; a failure to write it is returned (and the caller reports it).
  [[nodiscard]] Result<void> Audit(const AuditRecord& entry) { return store_.AddAudit(entry); }
  [[nodiscard]] Result<AuditPage> AuditLog(const AuditFilter& filter, uint64_t before_id,
                                           uint32_t limit) {
    return store_.AuditLog(filter, before_id, limit);
  }

 private:
  AccessStore& store_;
  mutable std::shared_mutex revoked_mutex_;
  std::set<std::string> revoked_;
};

}  // namespace lifeboat::controller
