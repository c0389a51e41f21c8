// `lifeboat-agent disk restore DISK --run N`: undo disk prepare run N (partition/restore.h) when
// that is still safe: run N is the newest change the journal knows of on this disk, the table is
// the one it made, and Lifeboat's partition holds nothing (no boot entry names it, no file is in
// it). Journalled and resumable like disk prepare.
#pragma once

#include <cstdint>

#include "agent/disk_commands.h"

namespace lifeboat::agent {

int DiskRestore(const DiskOptions& options, int64_t run);

}  // namespace lifeboat::agent
