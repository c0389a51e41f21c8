#include "agent/bcd_commands.h"

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "agent/apply_commands.h"
#include "agent/boot_store.h"
#include "agent/json_codec.h"
#include "agent/store_editor.h"
#include "bcd/describe.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

// A store file is a registry hive: it starts with "regf". Anything else is taken as a disk.
bool IsHiveFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "regf", 4) == 0;
}

void PrintStore(const bcd::Store& store, const std::string& source) {
  std::cout << "BCD store " << source << "\n";
  for (const auto& [id, object] : store.objects) {
    std::string title = bcd::ObjectTypeName(object.type);
    std::cout << "\n" << title << "\n" << std::string(title.size(), '-') << "\n";
    std::cout << "identifier              " << bcd::DisplayName(id) << "\n";
    for (const auto& [element_id, element] : object.elements) {
      auto d = bcd::DescribeElement(element_id, object.type, element);
      std::string name = d.name;
      if (name.size() < 24) name.append(24 - name.size(), ' ');
      if (!d.list.empty()) {
        for (size_t i = 0; i < d.list.size(); ++i)
          std::cout << (i == 0 ? name : std::string(24, ' ')) << d.list[i] << "\n";
      } else {
        std::cout << name << d.text << "\n";
      }
    }
  }
}

}  // namespace

int BcdShow(const BcdOptions& o) {
  std::vector<uint8_t> bytes;
  std::string source = o.target;
  if (IsHiveFile(o.target)) {
    std::ifstream in(o.target, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  } else {
    auto disk = DiskHandle::Open(o.target, DiskHandle::Mode::kReadOnly);
    if (!disk) return Report(disk.error(), o.json);
    auto model = ReadDisk(*disk);
    if (!model) return Report(model.error(), o.json);
    auto location = LocateBootStore(*model);
    if (!location) return Report(location.error(), o.json);
    auto read = BootStoreFile(o.target, *location).Read();
    if (!read) return Report(read.error(), o.json);
    bytes = std::move(*read);
    source = location->Describe() + " of " + o.target;
  }
  auto store = ParseStore(bytes);
  if (!store) return Report(store.error().Context(source), o.json);
  if (o.json) {
    std::cout << StoreToJson(*store, source) << "\n";
  } else {
    PrintStore(*store, source);
  }
  return kExitOk;
}

int BcdBootOnce(const BcdOptions& o) {
  auto disk = DiskHandle::Open(o.target, DiskHandle::Mode::kExclusive,
                               std::chrono::seconds(o.lock_wait_seconds));
  if (!disk) return Report(disk.error(), o.json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), o.json);
  if (auto safe = RequireSafeLayout(*model); !safe) return Report(safe.error(), o.json);
  auto location = LocateBootStore(*model);
  if (!location)
    return Report({ErrorCode::kRefused, location.error().message, {}, "boot-store-unusable"},
                  o.json);
  BootStoreFile file(o.target, *location);
  auto loaded = ReadStoreForEdit(file);
  if (!loaded) return Report(loaded.error(), o.json);
  const bcd::Guid loader = LoaderGuid(model->disk_id);
  auto objects = bcd::PlanBootOnce(loaded->store, loader);
  if (!objects) return Report(objects.error(), o.json);
  std::string result = "unchanged";
  if (!objects->empty()) {
    auto journal = JournalStore::Open(o.state_dir + "/journal.db");
    if (!journal) return Report(journal.error(), o.json);
    if (auto r = (*journal)->SaveBcdBackup(0, model->disk_id, loaded->bytes); !r)
      return Report(r.error(), o.json);
    auto bytes = EditStore(loaded->bytes, *objects);
    if (!bytes) return Report(bytes.error(), o.json);
    if (auto r = ReplaceStore(file, *bytes, loaded->bytes); !r) return Report(r.error(), o.json);
    result = "set";
  }
  if (o.json) {
    std::cout << BootOnceToJson(o.target, result, loader.Text()) << "\n";
  } else {
    std::cout << result << ": the next boot of " << o.target << " starts Lifeboat's entry "
              << loader.Text() << " once; the boot after it starts Windows as before\n";
  }
  return kExitOk;
}

}  // namespace lifeboat::agent
