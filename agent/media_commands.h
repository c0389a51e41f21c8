// lifeboat-agent media iso|usb: boot media made from a recovery image file (media/media_job.h
// does the work; this is the command line's side: output and exit codes).
#pragma once

#include "media/media_job.h"

namespace lifeboat::agent {

int MediaIso(const media::MediaJob& job, bool json);
int MediaUsb(const media::MediaJob& job, bool json);

}  // namespace lifeboat::agent
