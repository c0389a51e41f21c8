// The exit codes of every lifeboat-agent command (docs/cli.md).
#pragma once

namespace lifeboat::agent {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,     // I/O, a tool, the journal, a verification failed
  kExitUsage = 2,     // bad command line
  kExitRefused = 3,   // the planner refused; nothing was changed
  kExitBusy = 4,      // the disk is in use or locked
  kExitNotFound = 5,  // the disk (or image file) does not exist
  kExitBadImage = 6,  // the recovery image is unusable (corrupt, split, not bootable)
  kExitDamaged = 7,   // status: an installed entry or image is damaged or incomplete
};

}  // namespace lifeboat::agent
