#include "agent/windows_name.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bcd/hive.h"
#include "bcd/store.h"
#include "image/ntfs_volume.h"
#include "partition/loop_device.h"

namespace lifeboat::agent {

namespace {

// The value `name` of `node`, if it is there.
Result<std::optional<bcd::RegValue>> Value(const bcd::Hive& hive, bcd::Hive::Node node,
                                           const std::string& name) {
  auto values = hive.Values(node);
  LIFEBOAT_TRY(values);
  for (auto& v : *values)
    if (v.name == name) return std::optional<bcd::RegValue>{std::move(v)};
  return std::optional<bcd::RegValue>{};
}

// The node at `path` (keys separated by '\') under `node`.
Result<std::optional<bcd::Hive::Node>> Find(const bcd::Hive& hive, bcd::Hive::Node node,
                                            const std::string& path) {
  size_t at = 0;
  while (at <= path.size()) {
    const size_t end = std::min(path.find('\\', at), path.size());
    auto child = hive.Child(node, path.substr(at, end - at));
    LIFEBOAT_TRY(child);
    if (!*child) return std::optional<bcd::Hive::Node>{};
    node = **child;
    at = end + 1;
  }
  return std::optional<bcd::Hive::Node>{node};
}

Result<std::string> NameInHive(const std::string& file) {
  auto hive = bcd::Hive::Open(file, false);
  LIFEBOAT_TRY(hive);
  const auto& h = **hive;
  auto select = Find(h, h.Root(), "Select");
  LIFEBOAT_TRY(select);
  std::optional<bcd::RegValue> current;
  if (*select) {
    auto v = Value(h, **select, "Current");
    LIFEBOAT_TRY(v);
    current = std::move(*v);
  }
  if (!current || current->data.size() < 4)
    return Fail(ErrorCode::kNotFound, "the SYSTEM hive has no Select\\Current");
  char set[32];
  std::snprintf(set, sizeof set, "ControlSet%03u",
                static_cast<unsigned>(bcd::DecodeInteger(current->data) % 1000));
  auto key = Find(h, h.Root(), std::string(set) + "\\Control\\ComputerName\\ComputerName");
  LIFEBOAT_TRY(key);
  if (!*key)
    return Fail(ErrorCode::kNotFound, std::string("the SYSTEM hive has no ") + set +
                                          "\\Control\\ComputerName\\ComputerName");
  auto name = Value(h, **key, "ComputerName");
  LIFEBOAT_TRY(name);
  if (!*name || (*name)->type != bcd::kRegSz)
    return Fail(ErrorCode::kNotFound, "the SYSTEM hive names no computer");
  return bcd::DecodeString((*name)->data);
}

}  // namespace

Result<std::string> ReadWindowsComputerName(const std::string& disk,
                                            const partition::DiskModel& model) {
  const partition::Partition* windows = model.WithRole(partition::Role::kWindows);
  if (!windows || windows->filesystem != partition::FilesystemKind::kNtfs)
    return Fail(ErrorCode::kNotFound, "no readable Windows partition");
  auto loop = partition::LoopDevice::Attach(disk, ToBytes(windows->start, model.sector_size),
                                            ToBytes(windows->size, model.sector_size),
                                            model.sector_size, true);
  LIFEBOAT_TRY(loop);
  auto volume = image::NtfsVolume::Open(loop->path(), image::NtfsVolume::Mode::kReadOnly);
  LIFEBOAT_TRY(volume);
  auto bytes = (*volume)->ReadFile("\\Windows\\System32\\config\\SYSTEM");
  LIFEBOAT_TRY(bytes);
  // hivex reads files: the hive goes to a private temporary one, removed at once after.
  char path[] = "/tmp/lifeboat-system-hive.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return Fail(ErrorCode::kIo, "cannot make a temporary file for the SYSTEM hive");
  const bool written =
      write(fd, bytes->data(), bytes->size()) == static_cast<ssize_t>(bytes->size());
  close(fd);
  auto name = written ? NameInHive(path)
                      : Result<std::string>(Fail(ErrorCode::kIo, "cannot write the SYSTEM hive"));
  std::filesystem::remove(path);
  return name;
}

}  // namespace lifeboat::agent
