// Who may do what, and what was done: operators and their tokens, enrollment tokens, revoked
// machines and the audit log, in the controller's database (on FleetStore's connection, see
// controller/store_session.h). Thread-safe: calls are serialized on that one session.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/listing.h"
#include "controller/model.h"

namespace lifeboat::controller {

struct StoreSession;

class AccessStore {
 public:
  explicit AccessStore(std::shared_ptr<StoreSession> session);
  ~AccessStore();

  // Operators. AddOperator: kAlreadyExists; RemoveOperator: kNotFound.
  [[nodiscard]] Result<void> AddOperator(const OperatorRecord& op);
  [[nodiscard]] Result<std::optional<OperatorRecord>> FindOperatorByToken(
      const std::string& token_sha256);
  [[nodiscard]] Result<std::vector<OperatorRecord>> ListOperators();
  [[nodiscard]] Result<void> RemoveOperator(const std::string& name);

  // Enrollment tokens, kept as SHA-256. UseEnrollmentToken counts one use by `machine_id` if it
  // has uses left, is not revoked and not expired at `now` (seconds since the epoch), in one
  // statement, and returns its labels (k=v lines). kUnauthenticated naming why otherwise.
  [[nodiscard]] Result<void> AddEnrollmentToken(const std::string& token_sha256,
                                                const std::string& labels, int64_t expires_at,
                                                const std::string& created_by, uint32_t max_uses);
  [[nodiscard]] Result<std::string> UseEnrollmentToken(const std::string& token_sha256,
                                                       const std::string& machine_id, int64_t now);
  // Newest first.
  [[nodiscard]] Result<std::vector<EnrollmentTokenRecord>> EnrollmentTokens();
  // Revokes the token with this id (idempotent); kNotFound when there is none.
  [[nodiscard]] Result<void> RevokeEnrollmentToken(const std::string& id);
  // Revoked machines (idempotent).
  [[nodiscard]] Result<void> RevokeMachine(const std::string& machine_id, const std::string& by);
  [[nodiscard]] Result<std::vector<std::string>> RevokedMachines();

  // The audit log: appended to, never changed. AuditLog: the entries `filter` matches, newest
  // first, older than entry `before_id` (0: from the newest), at most `limit`.
  [[nodiscard]] Result<void> AddAudit(const AuditRecord& entry);
  [[nodiscard]] Result<AuditPage> AuditLog(const AuditFilter& filter, uint64_t before_id,
                                           uint32_t limit);

 private:
  std::shared_ptr<StoreSession> s_;
};

}  // namespace lifeboat::controller
