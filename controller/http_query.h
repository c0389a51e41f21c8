// The query strings of the HTTP API's listings (/api/v1/machines, /api/v1/audit, ...) read into
// the same request messages gRPC takes, and the machine list as CSV. Pure. Every parameter is
// checked: an unknown or malformed one is kInvalidArgument naming it, so that a typo in a
// filter is not taken for "everything".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "lifeboat/v1/admin_service.pb.h"

namespace lifeboat::controller {

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// page_size, page_token, version (or installed_version; empty: nothing installed), state (idle,
// downloading, applying, failed), offline
// (true, false), label (K=V, repeatable), winre_free_below (a size: 250MB, 1G, bytes).
[[nodiscard]] Result<v1::ListMachinesRequest> MachinesQuery(const QueryParameters& query);
// page_size, page_token, who, action, outcome.
[[nodiscard]] Result<v1::ListAuditRequest> AuditQuery(const QueryParameters& query);
// page_size, page_token; `id` is the rollout's, from the path.
[[nodiscard]] Result<v1::ListRolloutMachinesRequest> RolloutMachinesQuery(
    uint64_t id, const QueryParameters& query);
// include_retired (true, false).
[[nodiscard]] Result<v1::ListImagesRequest> ImagesQuery(const QueryParameters& query);
// No parameters.
[[nodiscard]] Result<void> NoQuery(const QueryParameters& query);

// The body of POST /api/v1/machines/{id}/boot-recovery: empty (the machine's next boot starts
// its local Lifeboat), or a JSON object with network (true: its next network boot, from the
// controller), version and iso. kInvalidArgument naming what is wrong.
[[nodiscard]] Result<v1::RequestBootRecoveryRequest> BootRecoveryBody(const std::string& machine_id,
                                                                      const std::string& body);

// The CSV header line, and one machine as a line (RFC 4180: quoted where needed). A cell that a
// spreadsheet would take for a formula (=, +, -, @ first) starts with ' instead: hostnames and
// labels come from agents.
std::string MachinesCsvHeader();
std::string MachineCsvLine(const v1::Machine& machine);

}  // namespace lifeboat::controller
