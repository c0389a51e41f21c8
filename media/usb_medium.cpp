#include "media/usb_medium.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "common/files.h"
#include "common/process.h"
#include "common/sha256.h"
#include "common/temporary_folder.h"
#include "common/writeback.h"
#include "image/fat_volume.h"
#include "partition/disk_handle.h"
#include "partition/partition_table.h"

namespace lifeboat::media {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1ULL << 20;
constexpr size_t kBootCodeSize = 440;  // the MBR's code, before the disk signature and the table

using partition::DiskHandle;

// The BIOS chain: syslinux's boot sector starts ldlinux, whose configuration runs chain.c32 to
// load \bootmgr the way NTLDR and bootmgr expect to be loaded.
constexpr const char* kSyslinuxConfig =
    "DEFAULT bootmgr\n"
    "PROMPT 0\n"
    "TIMEOUT 0\n"
    "LABEL bootmgr\n"
    "  COM32 chain.c32\n"
    "  APPEND ntldr=/bootmgr\n";
constexpr const char* kSyslinuxModules[] = {"chain.c32", "libcom32.c32", "libutil.c32"};

Result<std::string> ReadLocal(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text)
    return Fail(ErrorCode::kTool, path +
                                      " is missing: install Debian's syslinux-common (run "
                                      "scripts/setup)");
  return *text;
}

// An MBR disk signature and a FAT serial number that differ between sticks but repeat for the
// same image and target, so that writing the same stick twice gives the same bytes.
uint32_t Derived(const std::string& text) {
  auto digest = Sha256Hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return static_cast<uint32_t>(std::stoul(digest.substr(0, 8), nullptr, 16)) | 1;
}

// Zeroes the first and last MiB: an old GPT (both headers and arrays), old boot code and old
// file system signatures at the start go, so no firmware or tool finds a stale table.
Result<void> WipeTableAreas(const DiskHandle& disk) {
  const std::vector<uint8_t> zeros(kMiB, 0);
  const uint64_t size = disk.size().value;
  LIFEBOAT_TRY(disk.WriteAt(Bytes{0}, zeros.data(), static_cast<size_t>(std::min(size, kMiB))));
  if (size > 2 * kMiB) LIFEBOAT_TRY(disk.WriteAt(Bytes{size - kMiB}, zeros.data(), kMiB));
  return {};
}

// FAT32 keeps a copy of its boot sector (usually sector 6): syslinux rewrites only the first, and
// fsck.vfat reports the difference.
Result<void> CopyBootSectorToBackup(const DiskHandle& disk, uint64_t partition_start) {
  std::vector<uint8_t> sector(512);
  LIFEBOAT_TRY(disk.ReadAt(Bytes{partition_start}, sector.data(), sector.size()));
  const unsigned backup = sector[0x32] | (sector[0x33] << 8);
  if (backup == 0 || backup == 0xffff || backup > 32) return {};
  return disk.WriteAt(Bytes{partition_start + backup * 512ULL}, sector.data(), sector.size());
}

// Pushes what was written to the device and forgets the cached copy, so reading back reads the
// device.
Result<void> FlushAndForget(const std::string& target) {
  const int fd = open(target.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(ErrorCode::kIo, "open " + target + ": " + std::strerror(errno));
  const int rc = fsync(fd);
  const int saved = errno;
  if (rc == 0) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  if (rc != 0) return Fail(ErrorCode::kIo, "flush " + target + ": " + std::strerror(saved));
  return {};
}

Result<std::string> HashOnVolume(const image::FatVolume& volume, const std::string& path) {
  Sha256 hash;
  LIFEBOAT_TRY(volume.ReadFileInto(path, [&](std::string_view chunk) {
    hash.Update(std::span(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
  }));
  return hash.HexDigest();
}

}  // namespace

Result<UsbResult> WriteUsb(const MediumSource& source, const UsbPlan& plan,
                           const UsbWriteRequest& request) {
  auto say = [&](const std::string& line) {
    if (request.say) request.say(line);
  };
  const std::string& target = request.target;
  auto made = TemporaryFolder::Make("/tmp/lifeboat-usb-XXXXXX");
  if (!made) return std::unexpected(made.error());
  const TemporaryFolder staging = std::move(*made);
  const std::string tree = staging.path() + "/tree";
  fs::create_directory(tree);
  say("writing the boot files and BCD stores");
  auto staged = StageBootTree(source, tree, /*cd=*/false);
  if (!staged) return std::unexpected(staged.error());
  UsbResult result;
  result.files = *staged;
  fs::create_directories(fs::path(StagedPath(tree, layout::kWim)).parent_path());  // \sources
  std::string mbr_code;
  if (source.bios) {
    fs::create_directories(tree + "/syslinux");
    LIFEBOAT_TRY(WriteFileAtomically(tree + "/syslinux/syslinux.cfg", kSyslinuxConfig, 0644));
    for (const char* module : kSyslinuxModules) {
      auto bytes = ReadLocal(std::string(syslinux::kModules) + "/" + module);
      if (!bytes) return std::unexpected(bytes.error());
      LIFEBOAT_TRY(WriteFileAtomically(tree + "/syslinux/" + module, *bytes, 0644));
      result.files.push_back(std::string("\\syslinux\\") + module);
    }
    result.files.push_back("\\syslinux\\syslinux.cfg");
    auto mbr = ReadLocal(syslinux::kMbr);
    if (!mbr) return std::unexpected(mbr.error());
    mbr_code = mbr->substr(0, kBootCodeSize);
  }

  if (plan.create_file) {
    const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(ErrorCode::kIo, "create " + target + ": " + std::strerror(errno));
    const int rc = ftruncate(fd, static_cast<off_t>(plan.disk_size));
    close(fd);
    if (rc != 0) return Fail(ErrorCode::kIo, "size " + target + ": " + std::strerror(errno));
  }
  const std::string identity =
      source.image.name + "\n" + source.version + "\n" + std::to_string(plan.disk_size);
  say("erasing " + target + " and writing an MBR with one FAT32 partition");
  {
    auto disk = DiskHandle::Open(target, DiskHandle::Mode::kExclusive);
    if (!disk) return std::unexpected(disk.error());
    LIFEBOAT_TRY(WipeTableAreas(*disk));
    auto table = partition::PartitionTable::Open(*disk);
    if (!table) return std::unexpected(table.error());
    LIFEBOAT_TRY(table->StartMbr(Derived("disk\n" + identity)));
    auto number = table->Add(
        {Lba{plan.partition_start / 512}, Sectors{plan.partition_size / 512}, "0x0c", "", 0, ""});
    if (!number) return std::unexpected(number.error());
    LIFEBOAT_TRY(table->SetBootable(*number));
    LIFEBOAT_TRY(table->Write());
    if (!mbr_code.empty()) LIFEBOAT_TRY(disk->WriteAt(Bytes{0}, mbr_code.data(), mbr_code.size()));
    LIFEBOAT_TRY(disk->Flush());
  }  // closed: mkfs.vfat opens a block device exclusively

  auto volume = image::FatVolume::Format(target, plan.partition_start, plan.partition_size / 512,
                                         request.label, Derived("fat\n" + identity));
  if (!volume) return std::unexpected(volume.error());
  say("copying the boot files");
  LIFEBOAT_TRY(volume->CopyTreeIn(tree));
  if (source.bios) {
    say("installing syslinux for BIOS");
    LIFEBOAT_TRY(RunChecked({"syslinux", "--offset", std::to_string(plan.partition_start),
                             "--directory", "/syslinux", "--install", target}));
    auto disk = DiskHandle::Open(target, DiskHandle::Mode::kExclusive);
    if (!disk) return std::unexpected(disk.error());
    LIFEBOAT_TRY(CopyBootSectorToBackup(*disk, plan.partition_start));
  }
  // The image is read once: fed to mcopy, hashed (the read-back is compared with this hash, so
  // the check covers mtools and the device) and counted for the progress shown.
  say("copying " + source.image.path + " to \\sources\\boot.wim (" + HumanSize(source.image.size) +
      ")");
  const int wim_fd = open(source.image.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (wim_fd < 0)
    return Fail(ErrorCode::kIo, "read " + source.image.path + ": " + std::strerror(errno));
  Sha256 wim_hash;
  uint64_t copied_bytes = 0;
  bool read_failed = false;
  const uint64_t total = source.image.size.value;
  auto feed = [&](char* buffer, size_t capacity) -> size_t {
    ssize_t n;
    while ((n = read(wim_fd, buffer, capacity)) < 0 && errno == EINTR) {
    }
    if (n < 0) read_failed = true;
    if (n <= 0) return 0;
    wim_hash.Update(std::span(reinterpret_cast<const uint8_t*>(buffer), static_cast<size_t>(n)));
    copied_bytes += static_cast<uint64_t>(n);
    if (request.progress) request.progress(copied_bytes, total);
    return static_cast<size_t>(n);
  };
  std::optional<BackgroundWriteback> writeback(std::in_place, target);  // the disk works meanwhile
  auto copied = volume->CopyInFrom(feed, layout::kWim);
  writeback.reset();
  close(wim_fd);
  LIFEBOAT_TRY(copied);
  if (read_failed || copied_bytes != total)
    return Fail(ErrorCode::kIo, "read " + source.image.path + ": " + std::to_string(copied_bytes) +
                                    " of " + std::to_string(total) + " bytes");
  result.wim_sha256 = wim_hash.HexDigest();
  if (!source.image.sha256.empty() && result.wim_sha256 != source.image.sha256)
    return Fail(ErrorCode::kCorrupt, source.image.path + " changed while it was copied");
  result.files.push_back(layout::kWim);

  say("flushing " + target);
  LIFEBOAT_TRY(FlushAndForget(target));
  say("written; reading every file back from " + target);
  for (const auto& path : result.files) {
    const bool is_wim = path == layout::kWim;
    std::string expected;
    if (is_wim) {
      expected = result.wim_sha256;
    } else {
      auto local = Sha256File(StagedPath(tree, path));
      if (!local) return std::unexpected(local.error());
      expected = *local;
    }
    auto found = HashOnVolume(*volume, path);
    if (!found) return std::unexpected(found.error());
    if (*found != expected)
      return Fail(ErrorCode::kCorrupt, path + " read back from " + target +
                                           " differs from what was written: the device may be "
                                           "failing");
  }
  if (!mbr_code.empty()) {
    auto disk = DiskHandle::Open(target, DiskHandle::Mode::kReadOnly);
    if (!disk) return std::unexpected(disk.error());
    std::string code(kBootCodeSize, '\0');
    LIFEBOAT_TRY(disk->ReadAt(Bytes{0}, code.data(), code.size()));
    if (code != mbr_code)
      return Fail(ErrorCode::kCorrupt, target + ": the MBR boot code read back differs");
  }
  result.verified = true;
  return result;
}

}  // namespace lifeboat::media
