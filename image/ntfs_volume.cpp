#include "image/ntfs_volume.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

extern "C" {
#include <ntfs-3g/types.h>
// types.h first: the other headers assume its definitions.
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
}

#include "common/sha256.h"
#include "image/extent_io.h"

namespace lifeboat::image {

namespace {
// A write that failed: a refusal with reason "no-room" when the volume is full (nothing more fits,
// a state Lifeboat will not force), else an I/O error. Reads errno.
std::unexpected<Error> FailWriting(std::string message) {
  if (errno == ENOSPC) return Refuse("no-room", std::move(message));
  return Fail(ErrorCode::kIo, std::move(message));
}

constexpr size_t kChunk = kExtentChunk;  // large writes let libntfs-3g allocate long runs

std::string ErrnoText() { return std::strerror(errno); }

// "\Recovery\Lifeboat" -> {"Recovery", "Lifeboat"}
std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : path) {
    if (c == '\\' || c == '/') {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) parts.push_back(part);
  return parts;
}

std::string PosixPath(const std::string& path) {
  std::string out = "/";
  for (const auto& c : Components(path)) out += (out.size() > 1 ? "/" : "") + c;
  return out;
}

struct InodeCloser {
  void operator()(ntfs_inode* ni) const { ntfs_inode_close(ni); }
};
using Inode = std::unique_ptr<ntfs_inode, InodeCloser>;

struct AttrCloser {
  void operator()(ntfs_attr* na) const { ntfs_attr_close(na); }
};
using Attr = std::unique_ptr<ntfs_attr, AttrCloser>;

// A name in libntfs-3g's UTF-16 form, freed when it goes.
struct UName {
  ntfschar* chars = nullptr;
  int length = 0;
  ~UName() { free(chars); }
};

Result<void> ToUName(const std::string& name, UName& out) {
  out.length = ntfs_mbstoucs(name.c_str(), &out.chars);
  if (out.length < 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "file name \"" + name + "\" cannot be stored: " + ErrnoText());
  }
  return {};
}

}  // namespace

struct NtfsVolume::Impl {
  ntfs_volume* vol = nullptr;
  std::string device;
  int data_fd = -1;  // the device, for file data written straight to allocated clusters
  size_t sector_size = 512;

  Result<Inode> Lookup(const std::string& path) {
    ntfs_inode* ni = ntfs_pathname_to_inode(vol, nullptr, PosixPath(path).c_str());
    if (ni == nullptr) {
      if (errno == ENOENT) return Fail(ErrorCode::kNotFound, path + " does not exist on " + device);
      return Fail(ErrorCode::kIo, "look up " + path + " on " + device + ": " + ErrnoText());
    }
    return Inode(ni);
  }

  // Opens `path`, creating it as a file or folder (mode S_IFREG or S_IFDIR) in its existing parent.
  Result<Inode> OpenOrCreate(const std::string& path, mode_t mode) {
    auto existing = Lookup(path);
    if (existing || existing.error().code != ErrorCode::kNotFound) return existing;
    auto parts = Components(path);
    if (parts.empty()) return Fail(ErrorCode::kInvalidArgument, "empty path");
    std::string parent_path;
    for (size_t i = 0; i + 1 < parts.size(); ++i) parent_path += "\\" + parts[i];
    auto parent = Lookup(parent_path);
    LIFEBOAT_TRY(parent);
    UName name;
    LIFEBOAT_TRY(ToUName(parts.back(), name));
    ntfs_inode* ni = ntfs_create(parent->get(), 0, name.chars, name.length, mode);
    if (ni == nullptr) {
      return FailWriting("create " + path + " on " + device + ": " + ErrnoText());
    }
    // The folder's index already names the new record: write the record too, so that a process
    // killed from here on leaves a file that can be looked up (and replaced).
    if (ntfs_inode_sync(ni) != 0) {
      ntfs_inode_close(ni);
      return Fail(ErrorCode::kIo,
                  "write the record of " + path + " on " + device + ": " + ErrnoText());
    }
    return Inode(ni);
  }

  Result<Attr> Data(ntfs_inode* ni, const std::string& path) {
    ntfs_attr* na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (na == nullptr) {
      return Fail(ErrorCode::kIo,
                  "open the data of " + path + " on " + device + ": " + ErrnoText());
    }
    return Attr(na);
  }

  // Opens `path`, creating it if needed, with its data emptied.
  Result<std::pair<Inode, Attr>> OpenEmpty(const std::string& path) {
    auto ni = OpenOrCreate(path, S_IFREG);
    LIFEBOAT_TRY(ni);
    auto na = Data(ni->get(), path);
    LIFEBOAT_TRY(na);
    if (ntfs_attr_truncate(na->get(), 0) != 0) {
      return Fail(ErrorCode::kIo, "truncate " + path + " on " + device + ": " + ErrnoText());
    }
    return std::make_pair(std::move(*ni), std::move(*na));
  }

  // Writes the file's record through libntfs-3g and flushes the device: durable from here on.
  Result<void> SyncRecord(ntfs_inode* ni, const std::string& path) {
    if (ntfs_inode_sync(ni) != 0 || fsync(data_fd) != 0) {
      return Fail(ErrorCode::kIo,
                  "write the record of " + path + " on " + device + ": " + ErrnoText());
    }
    return {};
  }

  // Where the first `size` bytes of a non-resident attribute lie on the device. Errors: kIo (a
  // hole, or a runlist libntfs-3g cannot map).
  Result<std::vector<Extent>> Extents(ntfs_attr* na, s64 size, const std::string& path) {
    if (!NAttrNonResident(na))
      return Fail(ErrorCode::kIo, path + " on " + device + " has no clusters (resident data)");
    if (ntfs_attr_map_whole_runlist(na) != 0)
      return Fail(ErrorCode::kIo,
                  "map the clusters of " + path + " on " + device + ": " + ErrnoText());
    const s64 cluster = vol->cluster_size;
    std::vector<Extent> extents;
    for (const runlist_element* run = na->rl; run->length > 0; ++run) {
      const s64 from = run->vcn * cluster;
      if (from >= size) break;
      if (run->lcn < 0) return Fail(ErrorCode::kIo, path + " on " + device + " has a hole");
      const s64 to = (std::min)(size, (run->vcn + run->length) * cluster);
      extents.push_back({from, run->lcn * cluster, to - from});
    }
    return extents;
  }

  Result<void> WriteAll(ntfs_attr* na, int64_t offset, const uint8_t* data, size_t size,
                        const std::string& path) {
    while (size > 0) {
      s64 n = ntfs_attr_pwrite(na, offset, static_cast<s64>(size), data);
      if (n <= 0) {
        return FailWriting("write " + path + " on " + device + " at byte " +
                           std::to_string(offset) + ": " +
                           (errno == ENOSPC ? "the volume is full" : ErrnoText()));
      }
      offset += n;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return {};
  }
};

NtfsVolume::NtfsVolume(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NtfsVolume::~NtfsVolume() { (void)Close(); }

Result<std::unique_ptr<NtfsVolume>> NtfsVolume::Open(const std::string& device, Mode mode) {
  auto impl = std::make_unique<Impl>();
  impl->device = device;
  ntfs_mount_flags flags = mode == Mode::kReadOnly ? NTFS_MNT_RDONLY : NTFS_MNT_EXCLUSIVE;
  impl->vol = ntfs_mount(device.c_str(), flags);
  if (impl->vol == nullptr) {
    int e = errno;
    if (e == ENOENT) return Fail(ErrorCode::kNotFound, device + ": no such device");
    if (e == EBUSY) return Fail(ErrorCode::kBusy, device + " is in use (mounted?)");
    if (e == EPERM || e == EACCES)
      return Fail(ErrorCode::kIo, device + ": " + std::strerror(e) + " (NTFS needs root here)");
    return Fail(ErrorCode::kCorrupt,
                device + " holds no NTFS volume libntfs-3g can open: " + std::strerror(e));
  }
  ntfs_set_ignore_case(impl->vol);
  // Direct I/O for large files' data: libntfs-3g sets the device's block size to 512 bytes, which
  // makes buffered I/O through the page cache several times slower than dd's; and a read-back
  // should come from the device, not a cache.
  impl->data_fd =
      open(device.c_str(), (mode == Mode::kReadWrite ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
  int sector = 0;
  if (impl->data_fd >= 0 && ioctl(impl->data_fd, BLKSSZGET, &sector) == 0 && sector > 0)
    impl->sector_size = static_cast<size_t>(sector);
  return std::unique_ptr<NtfsVolume>(new NtfsVolume(std::move(impl)));
}

Result<void> NtfsVolume::Close() {
  if (impl_ == nullptr || impl_->vol == nullptr) return {};
  ntfs_volume* vol = impl_->vol;
  impl_->vol = nullptr;
  if (impl_->data_fd >= 0) {
    close(impl_->data_fd);
    impl_->data_fd = -1;
  }
  if (ntfs_umount(vol, FALSE) != 0) {
    return Fail(ErrorCode::kIo,
                "flush and close the NTFS volume on " + impl_->device + ": " + ErrnoText());
  }
  return {};
}

Result<bool> NtfsVolume::Exists(const std::string& path) {
  auto ni = impl_->Lookup(path);
  if (ni) return true;
  if (ni.error().code == ErrorCode::kNotFound) return false;
  return std::unexpected(ni.error());
}

Result<uint64_t> NtfsVolume::FileSize(const std::string& path) {
  auto ni = impl_->Lookup(path);
  LIFEBOAT_TRY(ni);
  auto na = impl_->Data(ni->get(), path);
  LIFEBOAT_TRY(na);
  return static_cast<uint64_t>((*na)->data_size);
}

namespace {

struct Listing {
  std::vector<std::string> names;
};

int AddName(void* dirent, const ntfschar* name, const int name_len, const int name_type,
            const s64 /*pos*/, const MFT_REF /*mref*/, const unsigned /*dt_type*/) {
  if (name_type == FILE_NAME_DOS) return 0;  // the 8.3 alias of a long name
  char* text = nullptr;
  if (ntfs_ucstombs(name, name_len, &text, 0) < 0) return 0;
  std::string s = text;
  free(text);
  if (s != "." && s != "..") static_cast<Listing*>(dirent)->names.push_back(s);
  return 0;
}

}  // namespace

Result<std::vector<std::string>> NtfsVolume::List(const std::string& dir) {
  auto ni = impl_->Lookup(dir);
  LIFEBOAT_TRY(ni);
  Listing listing;
  s64 pos = 0;
  if (ntfs_readdir(ni->get(), &pos, &listing, AddName) != 0) {
    return Fail(ErrorCode::kIo, "list " + dir + " on " + impl_->device + ": " + ErrnoText());
  }
  std::sort(listing.names.begin(), listing.names.end());
  return listing.names;
}

Result<void> NtfsVolume::MakeDirectories(const std::string& dir) {
  std::string path;
  for (const auto& part : Components(dir)) {
    path += "\\" + part;
    auto ni = impl_->OpenOrCreate(path, S_IFDIR);
    LIFEBOAT_TRY(ni);
  }
  return {};
}

Result<std::vector<uint8_t>> NtfsVolume::ReadFile(const std::string& path) {
  auto ni = impl_->Lookup(path);
  LIFEBOAT_TRY(ni);
  auto na = impl_->Data(ni->get(), path);
  LIFEBOAT_TRY(na);
  std::vector<uint8_t> bytes(static_cast<size_t>((*na)->data_size));
  size_t done = 0;
  while (done < bytes.size()) {
    s64 n = ntfs_attr_pread(na->get(), static_cast<s64>(done),
                            static_cast<s64>(bytes.size() - done), bytes.data() + done);
    if (n <= 0)
      return Fail(ErrorCode::kIo, "read " + path + " on " + impl_->device + ": " + ErrnoText());
    done += static_cast<size_t>(n);
  }
  return bytes;
}

Result<void> NtfsVolume::WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  auto file = impl_->OpenEmpty(path);
  LIFEBOAT_TRY(file);
  auto& [ni, na] = *file;
  if (auto r = impl_->WriteAll(na.get(), 0, bytes.data(), bytes.size(), path); !r) return r;
  return {};
}

Result<std::string> NtfsVolume::CopyIn(const std::string& local_file, const std::string& path,
                                       const Progress& progress) {
  int in = open(local_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Fail(ErrorCode::kNotFound, local_file + ": " + ErrnoText());
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } in_closer{in};
  struct stat st {};
  if (fstat(in, &st) != 0) return Fail(ErrorCode::kIo, local_file + ": " + ErrnoText());
  const s64 size = st.st_size;

  auto file = impl_->OpenEmpty(path);
  LIFEBOAT_TRY(file);
  auto& [ni, na] = *file;
  // libntfs-3g allocates every cluster up front (no holes), then the bytes go straight to those
  // clusters in large sequential writes, as dd would write them; libntfs-3g's own write path
  // costs twice the time for the same bytes. Small files take the ordinary path.
  if (size < static_cast<s64>(kChunk)) {
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    if (pread(in, bytes.data(), bytes.size(), 0) != size) {
      return Fail(ErrorCode::kIo, "read " + local_file + ": " + ErrnoText());
    }
    LIFEBOAT_TRY(impl_->WriteAll(na.get(), 0, bytes.data(), bytes.size(), path));
    if (progress && !progress(static_cast<uint64_t>(size))) {
      return Fail(ErrorCode::kIo, "copy to " + path + " stopped");
    }
    return Sha256Hex(bytes);
  }
  if (impl_->data_fd < 0) return Fail(ErrorCode::kIo, "open " + impl_->device + " for writing");
  if (ntfs_attr_truncate_solid(na.get(), size) != 0) {
    return FailWriting("allocate " + std::to_string(size) + " bytes for " + path + " on " +
                       impl_->device + ": " +
                       (errno == ENOSPC ? "the volume is full" : ErrnoText()));
  }
  // Record the allocation before the long write: killed during it, the file is whole but reads
  // as zeros (its initialized size is still 0).
  LIFEBOAT_TRY(impl_->SyncRecord(ni.get(), path));
  auto extents = impl_->Extents(na.get(), size, path);
  LIFEBOAT_TRY(extents);
  auto source_sha256 = CopyExtents(in, impl_->data_fd, *extents, impl_->sector_size, progress,
                                   "copy " + local_file + " to " + path + " on " + impl_->device);
  LIFEBOAT_TRY(source_sha256);
  // Only now does the file say its bytes are there (initialized size), as libntfs-3g records it
  // after its own writes; a copy cut short before this reads back as zeros.
  ntfs_attr_search_ctx* ctx = ntfs_attr_get_search_ctx(na->ni, nullptr);
  if (ctx == nullptr) return Fail(ErrorCode::kIo, "search context: " + ErrnoText());
  int rc = ntfs_attr_lookup(AT_DATA, AT_UNNAMED, 0, CASE_SENSITIVE, 0, nullptr, 0, ctx);
  if (rc == 0) {
    ctx->attr->initialized_size = cpu_to_sle64(size);
    na->initialized_size = size;
    ntfs_inode_mark_dirty(ctx->ntfs_ino);
  }
  ntfs_attr_put_search_ctx(ctx);
  if (rc != 0) return Fail(ErrorCode::kIo, "record the size of " + path + ": " + ErrnoText());
  LIFEBOAT_TRY(impl_->SyncRecord(ni.get(), path));
  return *source_sha256;
}

Result<std::string> NtfsVolume::HashFile(const std::string& path) {
  auto ni = impl_->Lookup(path);
  LIFEBOAT_TRY(ni);
  auto na = impl_->Data(ni->get(), path);
  LIFEBOAT_TRY(na);
  const s64 size = (*na)->data_size;
  // A large plain file (every one CopyIn wrote) is read straight from its clusters with direct
  // I/O: from the device, not a cache, and at the device's pace. Anything else (small, resident,
  // compressed, sparse, partly initialized) is read through libntfs-3g.
  ntfs_attr* data = na->get();
  if (impl_->data_fd >= 0 && size >= static_cast<s64>(kChunk) && NAttrNonResident(data) &&
      !NAttrCompressed(data) && !NAttrEncrypted(data) && !NAttrSparse(data) &&
      data->initialized_size == size) {
    auto extents = impl_->Extents(data, size, path);
    LIFEBOAT_TRY(extents);
    return HashExtents(impl_->data_fd, *extents, impl_->sector_size,
                       "read back " + path + " on " + impl_->device);
  }
  Sha256 hash;
  std::vector<uint8_t> buffer(kChunk);
  for (s64 pos = 0; pos < size;) {
    s64 n = ntfs_attr_pread(data, pos, (std::min<s64>)(size - pos, kChunk), buffer.data());
    if (n <= 0)
      return Fail(ErrorCode::kIo,
                  "read back " + path + " on " + impl_->device + ": " + ErrnoText());
    hash.Update({buffer.data(), static_cast<size_t>(n)});
    pos += n;
  }
  return hash.HexDigest();
}

Result<void> NtfsVolume::Remove(const std::string& path) {
  auto ni = impl_->Lookup(path);
  if (!ni)
    return ni.error().code == ErrorCode::kNotFound ? Result<void>{} : std::unexpected(ni.error());
  bool is_dir = ((*ni)->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
  ni->reset();
  if (is_dir) {
    auto children = List(path);
    LIFEBOAT_TRY(children);
    for (const auto& child : *children) {
      if (auto r = Remove(path + "\\" + child); !r) return r;
    }
  }
  auto parts = Components(path);
  std::string parent_path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent_path += "\\" + parts[i];
  auto parent = impl_->Lookup(parent_path);
  LIFEBOAT_TRY(parent);
  auto target = impl_->Lookup(path);
  LIFEBOAT_TRY(target);
  UName name;
  if (auto r = ToUName(parts.back(), name); !r) return r;
  // ntfs_delete closes both inodes, whatever it returns.
  int rc = ntfs_delete(impl_->vol, PosixPath(path).c_str(), target->release(), parent->release(),
                       name.chars, static_cast<u8>(name.length));
  if (rc != 0)
    return Fail(ErrorCode::kIo, "remove " + path + " on " + impl_->device + ": " + ErrnoText());
  return {};
}

Result<Bytes> NtfsVolume::FreeSpace() {
  if (ntfs_volume_get_free_space(impl_->vol) != 0) {
    return Fail(ErrorCode::kIo, "free space of " + impl_->device + ": " + ErrnoText());
  }
  return Bytes{static_cast<uint64_t>(impl_->vol->free_clusters) * impl_->vol->cluster_size};
}

}  // namespace lifeboat::image
