#include "common/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

namespace lifeboat {

namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

// Opens `path` for reading as any of the formats Lifeboat composes from. Raw and "empty" formats
// stay off: a file that is not an archive must fail, not read as one member.
Result<ArchivePtr> Open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Fail(ErrorCode::kNotFound, path + ": no such file");
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kNotFound, path + ": not a regular file");
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return Fail(ErrorCode::kIo, path + ": out of memory");
  archive_read_support_format_zip(a.get());
  archive_read_support_format_cab(a.get());
  archive_read_support_format_iso9660(a.get());
  archive_read_support_filter_none(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
    return Fail(ErrorCode::kCorrupt, path + ": not a ZIP, CAB or ISO 9660 archive, or damaged: " +
                                         archive_error_string(a.get()));
  return a;
}

Error Damaged(archive* a, const std::string& path) {
  const char* why = archive_error_string(a);
  return {ErrorCode::kCorrupt, path + ": damaged archive: " + (why ? why : "unreadable member")};
}

ArchiveMember::Kind KindOf(archive_entry* entry) {
  if (archive_entry_hardlink(entry) != nullptr || archive_entry_symlink(entry) != nullptr)
    return ArchiveMember::Kind::kOther;
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
      return ArchiveMember::Kind::kFile;
    case AE_IFDIR:
      return ArchiveMember::Kind::kDirectory;
    default:
      return ArchiveMember::Kind::kOther;
  }
}

Result<void> CopyData(archive* a, const std::string& archive_path, const std::string& member,
                      const std::string& destination) {
  const int fd =
      open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return Fail(ErrorCode::kIo, "cannot create " + destination + ": " + std::strerror(errno));
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r;
  while ((r = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
    // Sparse members come as blocks at offsets: write each where it belongs.
    if (pwrite(fd, block, size, offset) != static_cast<ssize_t>(size)) {
      const int saved = errno;
      close(fd);
      return Fail(ErrorCode::kIo, "cannot write " + destination + ": " + std::strerror(saved));
    }
  }
  if (r != ARCHIVE_EOF) {
    close(fd);
    return std::unexpected(Damaged(a, archive_path).Context("member " + member));
  }
  if (close(fd) != 0)
    return Fail(ErrorCode::kIo, "cannot write " + destination + ": " + std::strerror(errno));
  return {};
}

}  // namespace

Result<std::vector<ArchiveMember>> ListArchive(const std::string& path) {
  auto a = Open(path);
  if (!a) return std::unexpected(a.error());
  std::vector<ArchiveMember> members;
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
    const char* name = archive_entry_pathname(entry);
    members.push_back(
        {name ? name : "", static_cast<uint64_t>(archive_entry_size(entry)), KindOf(entry)});
    // Reading past the data checks it (CRCs, compressed streams) while listing.
    if (archive_read_data_skip(a->get()) != ARCHIVE_OK)
      return std::unexpected(Damaged(a->get(), path));
  }
  if (r != ARCHIVE_EOF) return std::unexpected(Damaged(a->get(), path));
  return members;
}

Result<void> ExtractMembers(const std::string& path,
                            const std::map<std::string, std::string>& destinations) {
  auto a = Open(path);
  if (!a) return std::unexpected(a.error());
  std::set<std::string> done;
  archive_entry* entry = nullptr;
  int r = ARCHIVE_OK;
  while (done.size() < destinations.size() &&
         (r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
    const char* name = archive_entry_pathname(entry);
    auto wanted = destinations.find(name ? name : "");
    if (wanted == destinations.end() || done.contains(wanted->first) ||
        KindOf(entry) != ArchiveMember::Kind::kFile)
      continue;
    LIFEBOAT_TRY(CopyData(a->get(), path, wanted->first, wanted->second));
    done.insert(wanted->first);
  }
  if (r != ARCHIVE_OK && r != ARCHIVE_EOF) return std::unexpected(Damaged(a->get(), path));
  if (done.size() < destinations.size()) {
    for (const auto& [member, destination] : destinations)
      if (!done.contains(member))
        return Fail(ErrorCode::kCorrupt, path + ": member " + member + " could not be read");
  }
  return {};
}

}  // namespace lifeboat
