#include "common/cpio_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace lifeboat {

Result<std::string> MakeCpio(const std::vector<CpioEntry>& entries) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  archive_entry_free);
  if (!a || !e) return Fail(ErrorCode::kIo, "cpio: out of memory");
  // The whole archive goes to one memory buffer; grown until it fits (a few KiB in practice).
  std::string out(64 * 1024, '\0');
  for (;;) {
    a.reset(archive_write_new());
    size_t used = 0;
    if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
        archive_write_open_memory(a.get(), out.data(), out.size(), &used) != ARCHIVE_OK)
      return Fail(ErrorCode::kIo, std::string("cpio: ") + archive_error_string(a.get()));
    bool full = false;
    for (const auto& entry : entries) {
      archive_entry_clear(e.get());
      archive_entry_set_pathname(e.get(), entry.path.c_str());
      archive_entry_set_filetype(e.get(), entry.directory ? AE_IFDIR : AE_IFREG);
      archive_entry_set_perm(e.get(), entry.mode);
      archive_entry_set_size(e.get(),
                             entry.directory ? 0 : static_cast<la_int64_t>(entry.content.size()));
      archive_entry_set_mtime(e.get(), 0, 0);  // the same settings make the same bytes
      if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
          (!entry.directory && !entry.content.empty() &&
           archive_write_data(a.get(), entry.content.data(), entry.content.size()) < 0)) {
        full = true;
        break;
      }
    }
    if (!full && archive_write_close(a.get()) == ARCHIVE_OK) {
      out.resize(used);
      return out;
    }
    if (out.size() > (256u << 20))
      return Fail(ErrorCode::kIo, std::string("cpio: ") + archive_error_string(a.get()));
    out.assign(out.size() * 4, '\0');
  }
}

}  // namespace lifeboat
