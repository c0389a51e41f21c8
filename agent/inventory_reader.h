// `lifeboat-agent inventory [DISK]`: reads what the daemon reports about this machine from the
// disk itself (layout, firmware, installed Lifeboat version, WinRE, BitLocker) and prints it as
// JSON (agent/inventory.h). Without DISK it finds the disk that holds the Windows partition.
#pragma once

#include <string>

#include "agent/inventory.h"
#include "common/error.h"

namespace lifeboat::agent {

// The first disk (in /sys/block order) whose table holds a Windows partition.
// Errors: kNotFound.
[[nodiscard]] Result<std::string> FindWindowsDisk();

// A disk that cannot be read gives an inventory without disks rather than an error: the
// controller still learns the machine is alive and what it runs.
[[nodiscard]] Inventory ReadInventory(const std::string& disk, const std::string& state_dir);

// Prints the inventory's JSON; `disk` empty: FindWindowsDisk. Returns the exit code.
int InventoryCommand(const std::string& disk, const std::string& state_dir);

}  // namespace lifeboat::agent
