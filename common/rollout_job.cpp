#include "common/rollout_job.h"

namespace lifeboat {

namespace {

// A size as `lifeboat-agent` reads it back (common/units.h ParseSize): "1G", "512M", "250MB",
// or plain bytes, whichever is exact.
std::string SizeWord(uint64_t bytes) {
  constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30, kMB = 1000 * 1000;
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "G";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "M";
  if (bytes != 0 && bytes % kMB == 0) return std::to_string(bytes / kMB) + "MB";
  return std::to_string(bytes);
}

}  // namespace

std::string DescribeJob(const RolloutJob& job, const std::string& image_version) {
  switch (job.kind) {
    case JobKind::kInstall:
      return "install " + image_version;
    case JobKind::kWinReGrow:
      return job.winre_size_bytes ? "winre-grow --size " + SizeWord(job.winre_size_bytes)
                                  : "winre-grow --free " + SizeWord(job.winre_free_bytes);
    case JobKind::kRemove:
      return "remove --reclaim " + job.reclaim;
  }
  return "install " + image_version;
}

}  // namespace lifeboat
