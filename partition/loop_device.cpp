#include "partition/loop_device.h"

#include <unistd.h>

#include "common/process.h"

namespace lifeboat::partition {

Result<LoopDevice> LoopDevice::Attach(const std::string& backing, Bytes offset, Bytes size,
                                      uint32_t sector_size, bool read_only) {
  if (geteuid() != 0) {
    return Fail(ErrorCode::kUnsupported, "looking inside NTFS volumes needs root (loop devices)");
  }
  std::vector<std::string> argv = {"losetup",
                                   "--find",
                                   "--show",
                                   "--offset",
                                   std::to_string(offset.value),
                                   "--sizelimit",
                                   std::to_string(size.value),
                                   "--sector-size",
                                   std::to_string(sector_size)};
  if (read_only) argv.push_back("--read-only");
  argv.push_back(backing);
  auto out = RunChecked(argv);
  if (!out) return std::unexpected(out.error().Context("attach a loop device to " + backing));
  std::string path = out->out.substr(0, out->out.find('\n'));
  if (path.empty()) return Fail(ErrorCode::kTool, "losetup printed no device name");
  return LoopDevice(path);
}

LoopDevice::~LoopDevice() {
  if (!path_.empty()) (void)RunProcess({"losetup", "--detach", path_});
}

}  // namespace lifeboat::partition
