// Crash contract: only `out_path` is written, from nothing, and not fsynced; the caller writes it
// under a temporary name, flushes it and renames it, so an interrupted build leaves no image at
// the name it asked for.
#include "image/wim_compose.h"

#include <cstdio>
#include <filesystem>

#include "image/wimlib_support.h"

namespace lifeboat::image {

namespace {

std::string CompressionName(int type) {
  switch (type) {
    case WIMLIB_COMPRESSION_TYPE_NONE:
      return "none";
    case WIMLIB_COMPRESSION_TYPE_XPRESS:
      return "XPRESS";
    case WIMLIB_COMPRESSION_TYPE_LZX:
      return "LZX";
    case WIMLIB_COMPRESSION_TYPE_LZMS:
      return "LZMS";
  }
  return "unknown";
}

// A Windows FILETIME (100 ns since 1601) as the two hex halves the WIM's XML keeps.
void SetTime(WIMStruct* wim, const char* property, int64_t unix_seconds) {
  const uint64_t filetime = (static_cast<uint64_t>(unix_seconds) + 11644473600ULL) * 10000000ULL;
  char high[16], low[16];
  std::snprintf(high, sizeof high, "0x%08X", static_cast<unsigned>(filetime >> 32));
  std::snprintf(low, sizeof low, "0x%08X", static_cast<unsigned>(filetime & 0xffffffffU));
  wimlib_set_image_property(wim, 1, (std::string(property) + "/HIGHPART").c_str(), high);
  wimlib_set_image_property(wim, 1, (std::string(property) + "/LOWPART").c_str(), low);
}

// wimlib stamps the clock's time as the last modification of every image it writes changed. Set
// the fixed time afterwards: an overwrite that changes only the XML rewrites the XML and the
// integrity table in place (reusing the table's hashes of the unchanged bytes).
Result<void> StampModificationTime(const std::string& path, int64_t timestamp) {
  Wim written;
  if (int rc = wimlib_open_wim(path.c_str(), 0, written.out()); rc != 0)
    return Fail(ErrorCode::kIo, "reopen " + path + ": " + WimError(rc));
  SetTime(written.get(), "LASTMODIFICATIONTIME", timestamp);
  if (int rc = wimlib_overwrite(written.get(),
                                WIMLIB_WRITE_FLAG_CHECK_INTEGRITY, 0);
      rc != 0)
    return Fail(ErrorCode::kIo, "stamp the time on " + path + ": " + WimError(rc));
  return {};
}

struct ProgressContext {
  const std::function<void(uint64_t, uint64_t)>* report;
};

wimlib_progress_status OnProgress(wimlib_progress_msg msg, wimlib_progress_info* info, void* user) {
  auto* context = static_cast<ProgressContext*>(user);
  if (msg == WIMLIB_PROGRESS_MSG_WRITE_STREAMS && context->report && *context->report)
    (*context->report)(info->write_streams.completed_bytes, info->write_streams.total_bytes);
  return WIMLIB_PROGRESS_STATUS_CONTINUE;
}

}  // namespace

Result<BaseImage> ReadBaseImage(const std::string& path, unsigned index) {
  Wim wim;
  LIFEBOAT_TRY(OpenWim(path, wim, /*check_integrity=*/false));
  wimlib_wim_info info{};
  wimlib_get_wim_info(wim.get(), &info);
  BaseImage base;
  base.path = path;
  base.image_count = info.image_count;
  base.boot_index = info.boot_index;
  base.compression = CompressionName(info.compression_type);
  base.chunk_size = info.chunk_size;
  if (index == 0 && info.boot_index == 0)
    return Fail(ErrorCode::kUnsupported,
                path +
                    " has no bootable image (boot index 0): name the image to start from with "
                    "base.index, or mark one with `wimlib-imagex info " +
                    path + " N --boot`");
  base.index = index == 0 ? info.boot_index : index;
  if (base.index > info.image_count)
    return Fail(ErrorCode::kUnsupported, path + " has " + std::to_string(info.image_count) +
                                             " image(s), not an image " +
                                             std::to_string(base.index));
  const int image = static_cast<int>(base.index);
  const char* name = wimlib_get_image_name(wim.get(), image);
  base.name = name ? name : "";
  base.architecture = ArchitectureName(wimlib_get_image_property(wim.get(), image, "WINDOWS/ARCH"));
  return base;
}

struct BaseCopy::Impl {
  Wim wim;
  std::string path;
  int index = 0;  // the chosen image's index in the copy, once the others are dropped
};

BaseCopy::BaseCopy() = default;
BaseCopy::~BaseCopy() = default;
BaseCopy::BaseCopy(BaseCopy&&) noexcept = default;
BaseCopy& BaseCopy::operator=(BaseCopy&&) noexcept = default;

Result<BaseCopy> CopyBaseImage(const BaseImage& base, const std::string& out_path) {
  // The base is copied whole and the additions appended to the copy, as `wimlib-imagex update`
  // does: the base's resources are neither rewritten nor recompressed (wimlib would try to
  // compress again every resource the base stores uncompressed).
  std::error_code ec;
  std::filesystem::copy_file(base.path, out_path, ec);
  if (ec)
    return Fail(ErrorCode::kIo, "copy " + base.path + " to " + out_path + ": " + ec.message());
  BaseCopy copy;
  copy.impl_ = std::make_unique<BaseCopy::Impl>();
  copy.impl_->path = out_path;
  Wim& wim = copy.impl_->wim;
  LIFEBOAT_TRY(OpenWim(out_path, wim));  // the copy's integrity table checked, if it has one
  int index = static_cast<int>(base.index);
  for (int image = static_cast<int>(base.image_count); image >= 1; --image) {
    if (image == index) continue;
    if (int rc = wimlib_delete_image(wim.get(), image); rc != 0)
      return Fail(ErrorCode::kIo, "drop image " + std::to_string(image) + " of the copy of " +
                                      base.path + ": " + WimError(rc));
    if (image < index) --index;
  }
  copy.impl_->index = index;
  return copy;
}

Result<void> WriteComposedImage(BaseCopy copy, const Composition& c) {
  WIMStruct* wim = copy.impl_->wim.get();
  const int index = copy.impl_->index;
  const std::string out_path = copy.impl_->path;  // outlives the handle, closed below
  wimlib_update_command add{};
  add.op = WIMLIB_UPDATE_OP_ADD;
  add.add.fs_source_path = const_cast<char*>(c.staged_root.c_str());
  add.add.wim_target_path = const_cast<char*>("");
  add.add.add_flags = WIMLIB_ADD_FLAG_NO_ACLS;
  if (int rc = wimlib_update_image(wim, index, &add, 1, 0); rc != 0)
    return Fail(ErrorCode::kIo, "add " + c.staged_root + " to image " +
                                    std::to_string(c.base.index) + " of " + c.base.path + ": " +
                                    WimError(rc));
  if (int rc = wimlib_set_image_name(wim, index, c.name.c_str()); rc != 0)
    return Fail(ErrorCode::kIo, "name the image: " + WimError(rc));
  wimlib_set_image_descripton(wim, index, c.description.empty() ? nullptr : c.description.c_str());
  SetTime(wim, "CREATIONTIME", c.timestamp);
  wimlib_wim_info info{};
  std::copy(c.guid.begin(), c.guid.end(), info.guid);
  info.boot_index = static_cast<uint32_t>(index);
  wimlib_set_wim_info(wim, &info, WIMLIB_CHANGE_GUID | WIMLIB_CHANGE_BOOT_INDEX);

  ProgressContext context{&c.progress};
  wimlib_register_progress_function(wim, OnProgress, &context);
  if (int rc = wimlib_overwrite(wim, WIMLIB_WRITE_FLAG_CHECK_INTEGRITY, 0); rc != 0)
    return Fail(
        rc == WIMLIB_ERR_WRITE || rc == WIMLIB_ERR_OPEN ? ErrorCode::kIo : ErrorCode::kCorrupt,
        "write " + out_path + ": " + WimError(rc));
  copy.impl_.reset();  // closed before the file is opened again
  return StampModificationTime(out_path, c.timestamp);
}

}  // namespace lifeboat::image
