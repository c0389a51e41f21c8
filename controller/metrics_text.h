// The body of /metrics, in the Prometheus text format: the build, machines by state and version
// and by time since their last contact, each unfinished rollout's state, wave and machines, the
// controller's certificates' expiry, and the counts and latencies of gRPC calls and HTTP
// requests.
#pragma once

#include <string>
#include <vector>

#include "controller/fleet.h"
#include "controller/metrics.h"

namespace lifeboat::controller {

struct CertificateExpiry {
  std::string name;         // "server", "ca"
  long long not_after = 0;  // seconds since the epoch
};

std::string MetricsText(Fleet& fleet, const RpcMetrics& rpc, const RpcMetrics& http,
                        const std::vector<CertificateExpiry>& certificates);

}  // namespace lifeboat::controller
