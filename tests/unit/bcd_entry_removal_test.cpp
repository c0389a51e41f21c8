// Lifeboat's entry taken out of real stores (bcd/entry_removal.h): added by PlanEntryEdit with
// each link policy, then removed, the store must be the one it was, object for object.
#include <gtest/gtest.h>

#include "bcd/entry_removal.h"
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

// Applies an edit to a store value the way SaveObjects and DeleteObjects do to a hive.
Store With(Store store, const std::vector<Object>& objects, const std::vector<Guid>& remove = {}) {
  for (const auto& o : objects) store.objects[o.id] = o;
  for (const auto& id : remove) store.objects.erase(id);
  return store;
}

EntrySpec Spec(LinkPolicy link) {
  EntrySpec spec;
  spec.loader = *Guid::Parse("{11111111-2222-8333-8444-555555555555}");
  spec.options = *Guid::Parse("{66666666-7777-8888-8999-aaaaaaaaaaaa}");
  spec.partition.gpt = true;
  spec.partition.partition = *Guid::Parse("{b3362570-3901-4275-ad04-41043bf60099}");
  spec.partition.disk = *Guid::Parse("{9dc23e38-af40-4da5-a6e9-9b28a4a07bd1}");
  spec.wim_path = "\\Recovery\\Lifeboat\\1.0\\boot.wim";
  spec.sdi_path = "\\Recovery\\Lifeboat\\1.0\\boot.sdi";
  spec.winload = "\\windows\\system32\\boot\\winload.efi";
  spec.description = "Lifeboat 1.0 (test)";
  spec.link = link;
  return spec;
}

Store Installed(const Store& before, const EntrySpec& spec) {
  auto edit = PlanEntryEdit(before, spec, {});
  EXPECT_TRUE(edit) << edit.error().message;
  return With(before, *edit);
}

TEST(EntryRemoval, EveryLinkPolicyComesBackToTheStoreBefore) {
  for (const char* fixture : {"pybcd_BCDrecovery", "pybcd_BCDlaptop", "pybcd_BCDvm"}) {
    for (LinkPolicy link :
         {LinkPolicy::kToolsMenu, LinkPolicy::kMainMenu, LinkPolicy::kRecoverySequence}) {
      SCOPED_TRACE(std::string(fixture) + " " + LinkPolicyName(link));
      const Store before = Load(fixture);
      const EntrySpec spec = Spec(link);
      auto installed_edit = PlanEntryEdit(before, spec, {});
      if (!installed_edit) continue;  // (a store without a default Windows loader)
      const Store installed = With(before, *installed_edit);
      ASSERT_FALSE(installed.objects == before.objects);
      const EntryRemoval removal = PlanEntryRemoval(installed, spec.loader, spec.options, &before);
      EXPECT_EQ(removal.remove.size(), 2u);
      EXPECT_TRUE(removal.notes.empty());
      EXPECT_TRUE(With(installed, removal.save, removal.remove).objects == before.objects);
      // Removing again finds nothing to do.
      EXPECT_TRUE(PlanEntryRemoval(before, spec.loader, spec.options, &before).NothingToDo());
    }
  }
}

// Without the store from before: the lists lose the entry; a recovery sequence Lifeboat took over
// goes to Windows' own WinRE loader, the one WinPE loader that is not Lifeboat's.
TEST(EntryRemoval, WithoutTheStoreBeforeWindowsWinReIsFound) {
  const Store before = Load("pybcd_BCDrecovery");
  const EntrySpec spec = Spec(LinkPolicy::kRecoverySequence);
  const Store installed = Installed(before, spec);
  const EntryRemoval removal = PlanEntryRemoval(installed, spec.loader, spec.options, nullptr);
  const Store after = With(installed, removal.save, removal.remove);
  EXPECT_EQ(after.Find(spec.loader), nullptr);
  EXPECT_EQ(after.Find(spec.options), nullptr);
  bool found = false;
  for (const auto& [id, object] : before.objects) {
    if (!object.elements.contains(elements::kRecoverySequence)) continue;
    found = true;
    EXPECT_EQ(ObjectList(*after.Find(id), elements::kRecoverySequence),
              ObjectList(object, elements::kRecoverySequence));
  }
  EXPECT_TRUE(found) << "the fixture has a Windows loader with a recovery sequence";
}

// A tools menu Lifeboat created goes away with it when the store before is not known.
TEST(EntryRemoval, AListLifeboatCreatedGoesAway) {
  Store before = Load("pybcd_BCDrecovery");
  before.objects[known::kBootMgr].elements.erase(elements::kToolsDisplayOrder);
  const EntrySpec spec = Spec(LinkPolicy::kToolsMenu);
  const Store installed = Installed(before, spec);
  ASSERT_TRUE(installed.Find(known::kBootMgr)->elements.contains(elements::kToolsDisplayOrder));
  const Store* const known[] = {&before, nullptr};
  for (const Store* known_before : known) {
    const EntryRemoval removal =
        PlanEntryRemoval(installed, spec.loader, spec.options, known_before);
    EXPECT_TRUE(With(installed, removal.save, removal.remove).objects == before.objects);
  }
}

}  // namespace
}  // namespace lifeboat::bcd
