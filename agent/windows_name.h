// The name Windows knows the machine by, read from its offline SYSTEM hive
// (\Windows\System32\config\SYSTEM on the Windows partition, through libntfs-3g and hivex): the
// control set Select\Current names, then Control\ComputerName\ComputerName\ComputerName. A help
// desk asks for machines by this name, and an accepted machine is named after it.
#pragma once

#include <string>

#include "common/error.h"
#include "partition/disk_model.h"

namespace lifeboat::agent {

// Errors: kNotFound (no Windows partition, no hive, no name in it), kCorrupt (not a hive), kIo.
// Needs root (a loop device over the partition).
[[nodiscard]] Result<std::string> ReadWindowsComputerName(const std::string& disk,
                                                          const partition::DiskModel& model);

}  // namespace lifeboat::agent
