// Who this machine is by its hardware, read from sysfs: the SMBIOS system UUID, the MAC addresses
// of its physical network adapters and its disks' serial numbers. The controller recognises
// machines by these (controller/machine_identity.h) when nothing installed on them can say.
#pragma once

#include <string>

#include "agent/contact/controller_client.h"

namespace lifeboat::agent {

// `sys` is where sysfs is mounted (a test passes a folder shaped like it). Missing parts are left
// empty: the controller decides whether what is left is enough.
HardwareIdentity ReadHardwareIdentity(const std::string& sys = "/sys");

}  // namespace lifeboat::agent
