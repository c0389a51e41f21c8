// Lifeboat's boot entry computed against real stores: what changes, that a second edit changes
// nothing, that MBR entries follow moved partitions, and the link policies.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "bcd/describe.h"
#include "bcd/hive.h"
#include "bcd/lifeboat_entry.h"
#include "bcd/store.h"

namespace lifeboat::bcd {
namespace {

const std::string kFixtures = std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/bcd/";

Store Load(const std::string& name) {
  auto hive = Hive::Open(kFixtures + name, false);
  EXPECT_TRUE(hive) << hive.error().message;
  auto store = LoadStore(**hive);
  EXPECT_TRUE(store) << store.error().message;
  return *store;
}

// Applies objects to a store value the way SaveObjects does to a hive.
Store With(Store store, const std::vector<Object>& objects) {
  for (const auto& o : objects) store.objects[o.id] = o;
  return store;
}

EntrySpec Spec(bool gpt) {
  EntrySpec spec;
  spec.loader = *Guid::Parse("{11111111-2222-8333-8444-555555555555}");
  spec.options = *Guid::Parse("{66666666-7777-8888-8999-aaaaaaaaaaaa}");
  spec.partition.gpt = gpt;
  if (gpt) {
    spec.partition.partition = *Guid::Parse("{b3362570-3901-4275-ad04-41043bf60099}");
    spec.partition.disk = *Guid::Parse("{9dc23e38-af40-4da5-a6e9-9b28a4a07bd1}");
  } else {
    spec.partition.offset = 3u << 30;
    spec.partition.signature = 0x0003ee7c;
  }
  spec.wim_path = "\\Recovery\\Lifeboat\\1.0\\boot.wim";
  spec.sdi_path = "\\Recovery\\Lifeboat\\1.0\\boot.sdi";
  spec.winload =
      gpt ? "\\windows\\system32\\boot\\winload.efi" : "\\windows\\system32\\boot\\winload.exe";
  spec.description = "Lifeboat 1.0 (test)";
  return spec;
}

TEST(LifeboatEntry, AddsTwoObjectsAndLinksThemFromTheToolsMenu) {
  Store store = Load("pybcd_BCDrecovery");
  EntrySpec spec = Spec(true);
  auto edit = PlanEntryEdit(store, spec, {});
  ASSERT_TRUE(edit) << edit.error().message;
  ASSERT_EQ(edit->size(), 3u);  // options, loader, {bootmgr}
  Store after = With(store, *edit);
  const Object* loader = after.Find(spec.loader);
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->type, object_types::kOsLoader);
  auto device = DecodeDevice(loader->elements.at(elements::kDevice).data);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->kind, Device::Kind::kRamdisk);
  EXPECT_EQ(device->path, spec.wim_path);
  EXPECT_EQ(device->options, spec.options);
  EXPECT_EQ(*device->partition, spec.partition);
  EXPECT_EQ(loader->elements.at(elements::kOsDevice), loader->elements.at(elements::kDevice));
  EXPECT_EQ(DecodeString(loader->elements.at(elements::kSystemRoot).data), "\\windows");
  EXPECT_EQ(loader->elements.at(elements::kWinPe).data, std::vector<uint8_t>{1});
  EXPECT_EQ(loader->elements.at(elements::kDetectHal).data, std::vector<uint8_t>{1});
  const Object* options = after.Find(spec.options);
  ASSERT_NE(options, nullptr);
  EXPECT_EQ(options->type, object_types::kDeviceOptions);
  EXPECT_EQ(DecodeString(options->elements.at(elements::kSdiPath).data), spec.sdi_path);
  auto tools = ObjectList(*after.Find(known::kBootMgr), elements::kToolsDisplayOrder);
  ASSERT_FALSE(tools.empty());
  EXPECT_EQ(tools.back(), spec.loader);
  // Everything else is the same object, element for element.
  for (const auto& [id, object] : store.objects) {
    if (id != known::kBootMgr) {
      EXPECT_EQ(*after.Find(id), object) << id.Text();
    }
  }
  EXPECT_TRUE(EntryIntact(after, spec));
  auto again = PlanEntryEdit(after, spec, {});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(LifeboatEntry, UpgradeChangesOnlyLifeboatsObjects) {
  Store store = Load("pybcd_BCDrecovery");
  EntrySpec v1 = Spec(true);
  Store installed = With(store, *PlanEntryEdit(store, v1, {}));
  EntrySpec v2 = v1;
  v2.wim_path = "\\Recovery\\Lifeboat\\2.0\\boot.wim";
  v2.sdi_path = "\\Recovery\\Lifeboat\\2.0\\boot.sdi";
  v2.description = "Lifeboat 2.0 (test)";
  auto edit = PlanEntryEdit(installed, v2, {});
  ASSERT_TRUE(edit);
  ASSERT_EQ(edit->size(), 2u);
  for (const auto& o : *edit) EXPECT_TRUE(o.id == v2.loader || o.id == v2.options);
  Store upgraded = With(installed, *edit);
  EXPECT_EQ(upgraded.objects.size(), installed.objects.size());
  EXPECT_EQ(ObjectList(*upgraded.Find(known::kBootMgr), elements::kToolsDisplayOrder),
            ObjectList(*installed.Find(known::kBootMgr), elements::kToolsDisplayOrder));
  EXPECT_FALSE(EntryIntact(upgraded, v1));
  EXPECT_TRUE(EntryIntact(upgraded, v2));
}

TEST(LifeboatEntry, MbrEntriesFollowAMovedPartitionAndNothingElse) {
  Store store = Load("pybcd_BCDlaptop");
  EntrySpec spec = Spec(false);
  PartitionMove move;
  move.from.gpt = false;
  move.from.offset = 78644248576ULL;  // every partition device in this store
  move.from.signature = 0x0003ee7c;
  move.to_offset = 1ULL << 30;
  auto edit = PlanEntryEdit(store, spec, {move});
  ASSERT_TRUE(edit);
  Store after = With(store, *edit);
  size_t moved = 0;
  for (const auto& [id, object] : after.objects) {
    if (id == spec.loader || id == spec.options) continue;
    for (const auto& [element_id, element] : object.elements) {
      if (FormatOf(element_id) != ElementFormat::kDevice) continue;
      auto device = DecodeDevice(element.data);
      ASSERT_TRUE(device);
      if (!device->partition) continue;
      EXPECT_EQ(device->partition->offset, move.to_offset) << id.Text();
      ++moved;
      // Only the offset bytes changed.
      const auto& before = store.Find(id)->elements.at(element_id).data;
      size_t differing = 0;
      for (size_t i = 0; i < before.size(); ++i) differing += before[i] != element.data[i];
      EXPECT_LE(differing, 8u);
    }
  }
  EXPECT_EQ(moved, 9u);  // the 9 partition devices of the laptop's store
  // A second edit with the same move changes nothing more.
  auto again = PlanEntryEdit(after, spec, {move});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(LifeboatEntry, RecoverySequenceAndMainMenuPolicies) {
  Store store = Load("pybcd_BCDrecovery");
  EntrySpec spec = Spec(true);
  spec.link = LinkPolicy::kRecoverySequence;
  Store after = With(store, *PlanEntryEdit(store, spec, {}));
  const Guid windows = *Guid::Parse("{17d1a947-6ebc-11e3-92e2-9e90a5a36f6e}");
  EXPECT_EQ(ObjectList(*after.Find(windows), elements::kRecoverySequence),
            std::vector<Guid>{spec.loader});
  EXPECT_EQ(*after.Find(known::kBootMgr), *store.Find(known::kBootMgr));
  auto found = FindEntry(after, spec.loader, spec.options);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->linked_from, std::vector<std::string>{"recoverysequence"});

  spec.link = LinkPolicy::kMainMenu;
  Store main = With(store, *PlanEntryEdit(store, spec, {}));
  EXPECT_EQ(ObjectList(*main.Find(known::kBootMgr), elements::kDisplayOrder).back(), spec.loader);
}

TEST(LifeboatEntry, BootOnceNeedsTheEntry) {
  Store store = Load("pybcd_BCDrecovery");
  EntrySpec spec = Spec(true);
  EXPECT_EQ(PlanBootOnce(store, spec.loader).error().code, ErrorCode::kNotFound);
  Store installed = With(store, *PlanEntryEdit(store, spec, {}));
  auto once = PlanBootOnce(installed, spec.loader);
  ASSERT_TRUE(once);
  ASSERT_EQ(once->size(), 1u);
  EXPECT_EQ(ObjectList(once->front(), elements::kBootSequence), std::vector<Guid>{spec.loader});
  EXPECT_TRUE(FindEntry(With(installed, *once), spec.loader, spec.options)->boot_once);
}

TEST(LifeboatEntry, AStoreWithoutBootManagerIsRefused) {
  Store empty = Load("go-bcdedit_template_BCD");
  EXPECT_EQ(PlanEntryEdit(empty, Spec(true), {}).error().code, ErrorCode::kCorrupt);
}

TEST(LifeboatEntry, SavedThroughHivexAndReadBack) {
  // The real write path: SaveObjects into a copy of the hive, commit, load again.
  const std::string copy = std::filesystem::temp_directory_path() / "lifeboat-entry-test.bcd";
  std::filesystem::copy_file(kFixtures + "pybcd_BCDvm", copy,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  EntrySpec spec = Spec(false);
  Store before = Load("pybcd_BCDvm");
  {
    auto hive = Hive::Open(copy, true);
    ASSERT_TRUE(hive);
    auto edit = PlanEntryEdit(before, spec, {});
    ASSERT_TRUE(edit);
    ASSERT_TRUE(SaveObjects(**hive, *edit));
    ASSERT_TRUE((*hive)->Commit());
  }
  std::ifstream in(copy, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto header = ReadHiveHeader(bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->sequence1, header->sequence2);
  auto hive = Hive::Open(copy, false);
  ASSERT_TRUE(hive);
  auto after = LoadStore(**hive);
  ASSERT_TRUE(after);
  EXPECT_TRUE(EntryIntact(*after, spec));
  EXPECT_EQ(after->objects.size(), before.objects.size() + 2);
  std::filesystem::remove(copy);
}

}  // namespace
}  // namespace lifeboat::bcd
