// The `disk` commands of lifeboat-agent: show, plan, prepare. Each returns the process exit code
// (see docs/cli.md) and writes its result to stdout, errors to stderr (or both as JSON).
#pragma once

#include <optional>
#include <string>

#include "common/units.h"

namespace lifeboat::agent {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,     // I/O, a tool, the journal, a verification failed
  kExitUsage = 2,     // bad command line
  kExitRefused = 3,   // the planner refused; nothing was changed
  kExitBusy = 4,      // the disk is in use or locked
  kExitNotFound = 5,  // the disk does not exist
};

struct DiskOptions {
  std::string disk;
  bool json = false;
  std::optional<Bytes> size;        // default: DefaultRecoverySize(image_size)
  std::optional<Bytes> image_size;  // size of the image the partition must hold twice
  std::optional<Bytes> shrink_margin;
  bool allow_gpt_repair = false;
  bool dry_run = false;
  std::string state_dir = "/var/lib/lifeboat";
  int lock_wait_seconds = 600;
};

int DiskShow(const DiskOptions& options);
int DiskPlan(const DiskOptions& options);
int DiskPrepare(const DiskOptions& options);

}  // namespace lifeboat::agent
