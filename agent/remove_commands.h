// `lifeboat-agent remove`: take Lifeboat off a disk. Its boot entry leaves the BCD store with
// every link it made put back as it was (bcd/entry_removal.h), then its partition is deleted and
// its room optionally given to Windows or WinRE (partition/remove.h). Journalled like apply: the
// store is backed up into the journal before it is replaced, and the partition steps run as a
// journalled partition run, so running remove again after a crash finishes the job.
#pragma once

#include "agent/disk_commands.h"
#include "partition/remove.h"

namespace lifeboat::agent {

struct RemoveOptions {
  DiskOptions disk;  // the disk, --json, --dry-run, --state-dir, --lock-wait, --journal-mirror
  partition::Reclaim reclaim = partition::Reclaim::kNone;
};

int Remove(const RemoveOptions& options);

}  // namespace lifeboat::agent
