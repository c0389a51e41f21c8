// One contact with the controller, the lifeboat-agent-contact program that the resident daemon
// (agent/daemon/daemon.h) starts for each heartbeat:
//   1. enroll, if the state directory holds no certificate yet (agent/contact/enrollment.h);
//   2. register, when the daemon asks (its first contact, or after the controller was away);
//   3. send the reports still waiting in the outbox;
//   4. heartbeat with the machine's inventory, and carry out what the answer asks: a boot-once
//      into recovery, or an assignment: to install, check the image's signature, download it
//      (resumable, every chunk checked) and run `lifeboat-agent apply` on it; for a rollout's
//      other jobs, run `lifeboat-agent winre grow` or `remove` (child processes, so journals and
//      locks are exactly the commands'), and report every step as it happens.
// Reports wait in the state file (state_dir/daemon.db, an outbox) until the controller
// acknowledges them, so they survive the controller being down and the agent restarting. So does
// everything a contact must remember for the next one: the machine id, the inventory last read,
// the attempts finished.
//
// All disk work is done by lifeboat-agent child processes: the contact holds only the network side.
#pragma once

#include <string>

#include "agent/daemon/contact_report.h"
#include "agent/daemon_config.h"

namespace lifeboat::agent {

// `agent` is the lifeboat-agent program to run for disk work. Returns the process exit code; when
// it is 0, `report` says whether the controller was reached and when it wants the next contact.
// SIGINT and SIGTERM are blocked and end the contact at its next wait (never during an apply).
int RunContact(const DaemonConfig& config, const std::string& agent, bool register_first,
               ContactReport& report);

}  // namespace lifeboat::agent
