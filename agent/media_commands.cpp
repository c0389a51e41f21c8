#include "agent/media_commands.h"

#include <iostream>

#include "agent/apply_commands.h"
#include "agent/disk_commands.h"
#include "agent/exit_codes.h"
#include "agent/json_codec.h"
#include "common/cli.h"

namespace lifeboat::agent {

namespace {

int Run(media::MediaJob job, bool json,
        Result<media::MediumReport> (*make)(const media::MediaJob&)) {
  job.say = [json](const std::string& line) { (json ? std::cerr : std::cout) << line << "\n"; };
  ProgressBar bar(make == media::MakeIso ? "master" : "copy");
  job.progress = [&bar](uint64_t done, uint64_t total) { bar.Show(done, total); };
  auto report = make(job);
  if (!report) {
    const Error& e = report.error();
    // An unusable image exits 6 (5 when missing) and says nothing was changed.
    if (e.code == ErrorCode::kCorrupt || e.code == ErrorCode::kUnsupported ||
        (e.code == ErrorCode::kNotFound && e.message.find(job.image) != std::string::npos))
      return ReportImageError(e, json);
    return Report(e, json);
  }
  if (json) std::cout << MediumReportToJson(*report) << "\n";
  return kExitOk;
}

}  // namespace

int MediaIso(const media::MediaJob& job, bool json) { return Run(job, json, media::MakeIso); }
int MediaUsb(const media::MediaJob& job, bool json) { return Run(job, json, media::MakeUsb); }

}  // namespace lifeboat::agent
