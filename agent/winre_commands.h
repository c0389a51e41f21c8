// The `winre` commands of lifeboat-agent: show and grow Windows' own recovery partition
// (partition/winre.h). Each returns the process exit code (docs/cli.md).
#pragma once

#include "agent/disk_commands.h"

namespace lifeboat::agent {

// WinRE's partition, volume, free space and what it lacks for Windows' WinRE update. Read-only.
int WinReShow(const DiskOptions& options);
// Grows WinRE to options.free free space or options.size (with --dry-run: prints the plan).
// Journalled and resumed like disk prepare.
int WinReGrow(const DiskOptions& options);

}  // namespace lifeboat::agent
