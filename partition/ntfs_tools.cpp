#include "partition/ntfs_tools.h"

#include <functional>
#include <regex>

#include "common/process.h"
#include "partition/loop_device.h"

namespace lifeboat::partition {
namespace {

std::optional<uint64_t> Find(const std::string& text, const std::regex& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, pattern)) return std::nullopt;
  return ParseNumber(m[1].str());  // nothing for a number past 64 bits
}

Result<LoopDevice> Attach(const PartitionLocation& where, bool read_only) {
  return LoopDevice::Attach(where.disk_path, where.offset, where.size, where.sector_size,
                            read_only);
}

}  // namespace

Result<NtfsDetails> InspectNtfs(const PartitionLocation& where) {
  auto loop = Attach(where, true);
  LIFEBOAT_TRY(loop);
  NtfsDetails details;
  auto ls = RunProcess({"ntfsls", "--force", "--path", "/Windows", loop->path()});
  LIFEBOAT_TRY(ls);
  details.has_windows_dir = ls->exit_code == 0;

  auto info = RunProcess({"ntfsresize", "--info", "--no-progress-bar", loop->path()});
  LIFEBOAT_TRY(info);
  const std::string text = info->out + info->err;
  details.dirty = text.find("scheduled for check") != std::string::npos;
  details.hibernated =
      text.find("hibernat") != std::string::npos || text.find("unclean") != std::string::npos;
  if (auto v = Find(text, std::regex(R"(Current volume size\s*:\s*(\d+) bytes)")))
    details.volume_size = Bytes{*v};
  if (auto v = Find(text, std::regex(R"(You might resize at (\d+) bytes)"))) {
    details.min_size = Bytes{*v};
  } else if (text.find("Nothing to do") != std::string::npos ||
             text.find("volume size is already") != std::string::npos) {
    details.min_size = details.volume_size;  // full: it cannot shrink at all
  }
  if (!details.min_size) details.problem = info->Summary("ntfsresize --info");
  // Free space as Windows counts it: the free clusters. Optional: without ntfsinfo (an older
  // service environment) the free space is unknown, and the rest still holds.
  auto volume = RunProcess({"ntfsinfo", "--force", "--mft", loop->path()});
  if (!volume) return details;
  const auto cluster = Find(volume->out, std::regex(R"(Cluster Size:\s*(\d+))"));
  const auto free = Find(volume->out, std::regex(R"(Free Clusters:\s*(\d+))"));
  if (volume->exit_code == 0 && cluster && free && *free <= UINT64_MAX / *cluster)
    details.free_bytes = Bytes{*free * *cluster};
  return details;
}

namespace {

using ArgsFor = std::function<std::vector<std::string>(std::vector<std::string>)>;

// What every ntfsresize call on `loop` adds to its arguments: the device, and --force when the
// check flag is Lifeboat's own (a second --force would skip ntfsresize's other checks).
ArgsFor CheckArgs(const LoopDevice& loop, const ResizeOptions& options) {
  return [path = loop.path(), own = options.own_check_flag](std::vector<std::string> argv) {
    if (own) argv.insert(argv.begin() + 1, "--force");
    argv.push_back(path);
    return argv;
  };
}

// ntfsresize's checks before any resize, and its --info output. `check_args` adds what every
// call of it needs. Errors: kRefused (marked for chkdsk, not by Lifeboat), kCorrupt, kTool.
Result<std::string> CheckResizable(const ArgsFor& check_args, const char* what) {
  auto info = RunProcess(check_args({"ntfsresize", "--info", "--no-progress-bar"}));
  LIFEBOAT_TRY(info);
  const std::string text = info->out + info->err;
  if (info->exit_code != 0 && text.find("scheduled for check") != std::string::npos) {
    return Refuse(
        "ntfs-dirty",
        "the NTFS volume is marked for chkdsk, and not by an ntfsresize Lifeboat started: "
        "Lifeboat never overrides that. Boot Windows so that it checks the volume (or run "
        "'chkdsk /f'), then run again: the run resumes from the journal");
  }
  if (info->exit_code != 0 && text.find("inconsistent") != std::string::npos) {
    return Fail(ErrorCode::kCorrupt,
                "ntfsresize finds the NTFS volume inconsistent (" + info->Summary("ntfsresize") +
                    "), as a power cut in the middle of a resize leaves it; the partition table "
                    "is still unchanged. Run 'chkdsk /f' in Windows (or Windows RE), then run "
                    "again: the run resumes from the journal");
  }
  if (info->exit_code != 0)
    return Fail(ErrorCode::kTool, std::string("check the NTFS volume before ") + what + ": " +
                                      info->Summary("ntfsresize --info"));
  return info->out;
}

// Rehearses the resize (--no-action), then runs it. `size` empty: fill the partition.
Result<void> Resize(const LoopDevice& loop, const std::string& size, const ArgsFor& check_args,
                    const ResizeOptions& options) {
  std::vector<std::string> rehearse = {"ntfsresize", "--no-action", "--no-progress-bar"};
  std::vector<std::string> resize = {"ntfsresize", "--force", "--no-progress-bar"};
  if (!size.empty()) {
    for (auto* argv : {&rehearse, &resize}) {
      argv->push_back("--size");
      argv->push_back(size);
    }
  }
  auto rehearsal = RunChecked(check_args(rehearse));
  if (!rehearsal)
    return std::unexpected(rehearsal.error().Context("ntfsresize rehearsal (--no-action)"));
  if (options.before_resize) {
    if (auto r = options.before_resize(); !r) return r;
  }
  // --force answers ntfsresize's "Are you sure?"; it does not skip its checks (that takes -ff).
  resize.push_back(loop.path());
  auto run = RunChecked(resize);
  if (!run) return std::unexpected(run.error().Context("ntfsresize"));
  return {};
}

}  // namespace

Result<void> ShrinkNtfs(const PartitionLocation& where, Bytes new_size,
                        const ResizeOptions& options) {
  auto loop = Attach(where, false);
  LIFEBOAT_TRY(loop);
  const auto check_args = CheckArgs(*loop, options);
  auto info = CheckResizable(check_args, "shrinking");
  LIFEBOAT_TRY(info);
  auto minimum = Find(*info, std::regex(R"(You might resize at (\d+) bytes)"));
  if (!minimum || *minimum > new_size.value) {
    return Refuse("not-enough-space", "the NTFS volume can no longer shrink to " +
                                          HumanSize(new_size) + " (ntfsresize's minimum is now " +
                                          (minimum ? HumanSize(Bytes{*minimum}) : "unknown") +
                                          "); nothing was changed");
  }
  return Resize(*loop, std::to_string(new_size.value), check_args, options);
}

Result<void> GrowNtfs(const PartitionLocation& where, const ResizeOptions& options) {
  auto loop = Attach(where, false);
  LIFEBOAT_TRY(loop);
  const auto check_args = CheckArgs(*loop, options);
  LIFEBOAT_TRY(CheckResizable(check_args, "growing"));
  return Resize(*loop, "", check_args, options);
}

Result<void> FormatNtfs(const PartitionLocation& where, Lba start, const std::string& label) {
  auto loop = Attach(where, false);
  LIFEBOAT_TRY(loop);
  auto run = RunChecked({"mkntfs", "--quick", "--force", "--label", label, "--partition-start",
                         std::to_string(start.value), "--heads", "255", "--sectors-per-track", "63",
                         "--sector-size", std::to_string(where.sector_size), loop->path()});
  if (!run) return std::unexpected(run.error().Context("mkntfs"));
  return {};
}

}  // namespace lifeboat::partition
