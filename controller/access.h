// Who may do what on the controller. Operators present a bearer token; the controller keeps only
// its SHA-256 and the role it carries: viewer (status queries), operator (rollouts and help-desk
// requests), admin (images, operators, enrollment tokens, revocation). On the first start, with no
// operator yet, an admin is made and its token written to a file only root can read.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "controller/fleet_store.h"
#include "controller/model.h"

namespace lifeboat::controller {

class Access {
 public:
  explicit Access(FleetStore& store) : store_(store) {}

  // With no operator yet: makes "admin" (role admin) and writes its token to `token_file`, mode
  // 0600. Otherwise does nothing.
  [[nodiscard]] Result<void> Bootstrap(const std::string& token_file);

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
  [[nodiscard]] Result<std::vector<AuditRecord>> AuditLog(uint32_t limit) {
    return store_.AuditLog(limit);
  }

 private:
  FleetStore& store_;
};

}  // namespace lifeboat::controller
