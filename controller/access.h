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

  // The operator behind `authorization` ("Bearer <token>"), if their role is at least `needed`.
  // Errors: kUnauthenticated (none, malformed, or a token nobody was given), kPermissionDenied
  // (the role is too low; the message names both roles).
  [[nodiscard]] Result<OperatorRecord> Authorize(const std::string& authorization,
                                                 Role needed) const;

  // Makes an operator and returns their token (shown once). kInvalidArgument, kAlreadyExists.
  [[nodiscard]] Result<std::string> AddOperator(const std::string& name, Role role);
  [[nodiscard]] Result<std::vector<OperatorRecord>> Operators();
  [[nodiscard]] Result<void> RemoveOperator(const std::string& name);

 private:
  FleetStore& store_;
};

}  // namespace lifeboat::controller
