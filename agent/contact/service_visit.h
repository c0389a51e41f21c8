// A service visit: what the network-booted service environment runs (packaging/service-env/init),
// as `lifeboat-agent-contact --service-visit`. The RAM disk holds no secret, so the machine is
// recognised by its hardware (agent/contact/hardware_identity.h):
//   1. say who it is, with its inventory (ServiceHello, no client certificate);
//   2. not accepted yet: it is pending on the controller; nothing more happens;
//      accepted, nothing to do: nothing more happens;
//      accepted with work: the controller certifies a key made for this visit, and the visit
//      carries on as the resident agent would (register, heartbeat, download, apply, report),
//      contact after contact until the controller has no more work for it.
// The caller reboots the machine afterwards; its next network boot goes where the controller says.
#pragma once

#include <string>

#include "agent/daemon_config.h"

namespace lifeboat::agent {

// Returns the process exit code: 0 whatever the controller decided (its line on stderr says
// what), 1 when the controller could not be reached or the work could not be reported, 2 for a
// config without a readable CA certificate.
// `sysfs` is where the hardware is read from (/sys; tests and containers give a folder shaped
// like it).
int RunServiceVisit(const DaemonConfig& config, const std::string& agent,
                    const std::string& sysfs = "/sys");

}  // namespace lifeboat::agent
