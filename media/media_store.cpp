#include "media/media_store.h"

#include <fstream>

#include "bcd/hive.h"

namespace lifeboat::media {

Result<void> WriteMediaStore(const std::vector<uint8_t>& template_store,
                             const bcd::MediaEntrySpec& spec, const std::string& path) {
  if (template_store.empty()) {
    // The image has no media templates (the ADK's winpe.wim may not): a store from scratch.
    LIFEBOAT_TRY(bcd::CreateEmptyStore(path));
  } else {
    // Not fsynced: a staged file; the medium it goes on is flushed whole.
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(template_store.data()),
              static_cast<std::streamsize>(template_store.size()));
    if (!out.flush()) return Fail(ErrorCode::kIo, "write " + path);
  }
  {
    auto hive = bcd::Hive::Open(path, /*writable=*/true);
    if (!hive) return std::unexpected(hive.error().Context("the media BCD template"));
    auto store = bcd::LoadStore(**hive);
    if (!store) return std::unexpected(store.error().Context("the media BCD template"));
    LIFEBOAT_TRY(bcd::SaveObjects(**hive, bcd::PlanMediaStore(*store, spec)));
    LIFEBOAT_TRY((*hive)->Commit());
  }
  // Decoded again from the file, as the boot manager will read it.
  auto hive = bcd::Hive::Open(path, /*writable=*/false);
  if (!hive) return std::unexpected(hive.error().Context("the media BCD store written"));
  auto store = bcd::LoadStore(**hive);
  if (!store) return std::unexpected(store.error().Context("the media BCD store written"));
  std::string why;
  if (!bcd::MediaStoreIntact(*store, spec, &why))
    return Fail(ErrorCode::kCorrupt, "the media BCD store written does not boot the image: " + why);
  return {};
}

}  // namespace lifeboat::media
