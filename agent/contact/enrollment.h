// The agent's identity towards the controller: its own key (state_dir/agent.key, made here, mode
// 0600, never sent anywhere) and the client certificate the controller's CA issued for it at
// enrollment (state_dir/agent.pem). Enrollment happens once, with a one-time token from
// `lifeboatctl token create` (enrollment_token in the config).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "agent/contact/controller_client.h"
#include "agent/contact/daemon_state.h"
#include "agent/daemon_config.h"
#include "common/error.h"

namespace lifeboat::agent {

// Fills tls.key_pem and tls.certificate_pem (tls.ca_pem must be set), enrolling first if the
// state directory holds no certificate, and adds the labels given with the token to `labels`.
// `wait(seconds)` sleeps between tries while the controller cannot be reached; it returns false
// to give up (a stop signal). Errors: kRefused (no token; the controller refused it, with why),
// kIo.
[[nodiscard]] Result<void> LoadOrEnroll(const DaemonConfig& config, const std::string& machine_id,
                                        DaemonState& state, ClientTls& tls,
                                        std::map<std::string, std::string>& labels,
                                        const std::function<bool(double)>& wait);

// Whether a certificate valid from `not_before` to `not_after` (seconds since the epoch) is due
// for renewal at `now`: less than `before` seconds of it left, or with `before` 0, less than a
// third of its lifetime. Pure.
bool RenewalDue(long long not_before, long long not_after, long long now, long long before);

// Asks the controller for a new client certificate for the agent's key when the current one is
// due (RenewalDue), keeps it (state_dir/agent.pem, replaced atomically) and puts it in `tls`. A
// failure is logged and is not an error: the current certificate still works, and the next
// contact tries again. An expired certificate is logged with what to do (enroll again).
void RenewIfDue(const DaemonConfig& config, const std::string& machine_id, ClientTls& tls);

}  // namespace lifeboat::agent
