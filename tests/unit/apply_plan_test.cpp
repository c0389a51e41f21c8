// apply's decisions (agent/apply_plan.h), table-driven like planner_test: disk models built by
// hand, a real Windows BCD store (tests/fixtures/bcd/pybcd_BCDlaptop), the recovery volume as
// data. Nothing here touches a disk.
#include "agent/apply_plan.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <iterator>

#include "agent/json_codec.h"
#include "agent/store_editor.h"
#include "common/overloaded.h"
#include "tests/support/apply_fixtures.h"

namespace lifeboat::agent {
namespace {

using namespace partition;
using namespace test::apply;
using test::DiskBuilder;
using test::kProtectionOn;
using test::kSuspended;
using test::MiB;

// The store with Lifeboat's entry for `version` saved in it, as apply leaves it.
bcd::Store WithEntry(bcd::Store store, const partition::DiskModel& disk,
                     const std::string& version) {
  const Partition* lifeboat = disk.WithRole(Role::kLifeboat);
  auto ref = PartitionRefFor(disk, *lifeboat);
  EXPECT_TRUE(ref) << ref.error().message;
  bcd::EntrySpec spec{LoaderGuid(disk.disk_id),
                      OptionsGuid(disk.disk_id),
                      *ref,
                      WimPath(version),
                      SdiPath(version),
                      "\\Windows\\System32\\boot\\winload.efi",
                      "Lifeboat " + version + " (Test PE)",
                      bcd::LinkPolicy::kToolsMenu};
  auto objects = bcd::PlanEntryEdit(store, spec, {});
  EXPECT_TRUE(objects) << objects.error().message;
  for (const auto& o : *objects) store.objects[o.id] = o;
  return store;
}

RecoveryVolumeState Volume(std::vector<std::string> versions, uint64_t free_mib) {
  RecoveryVolumeState v;
  v.versions = std::move(versions);
  for (const auto& version : v.versions) v.version_sizes[version] = Bytes{300 * MiB};
  v.free_space = Bytes{free_mib * MiB};
  return v;
}

Manifest ManifestOf(const std::string& version, const std::string& sha) {
  Manifest m;
  m.version = version;
  m.sha256 = sha;
  return m;
}

std::vector<std::string> Kinds(const ApplyPlan& plan) {
  std::vector<std::string> kinds;
  for (const auto& s : plan.steps) kinds.emplace_back(ApplyStepName(s));
  return kinds;
}

template <typename T>
const T* Find(const ApplyPlan& plan) {
  for (const auto& s : plan.steps)
    if (const auto* t = std::get_if<T>(&s)) return t;
  return nullptr;
}

const std::vector<std::string> kAllSteps = {
    "prepare-partition", "write-image", "verify-image", "edit-bcd",
    "verify-bcd",        "remove-old",  "record"};

struct Case {
  std::string name;
  std::function<ApplyInputs()> inputs;
  ApplyRequest request;
  // Either a plan with these steps and this result, checked further by `check`...
  std::vector<std::string> steps;
  ApplyResult result = ApplyResult::kInstalled;
  std::function<void(const ApplyPlan&)> check;
  // ...or a refusal with this name.
  std::string refusal;
};

std::vector<Case> Cases() {
  const bcd::Store windows = WindowsStore();
  std::vector<Case> cases;
  cases.push_back(
      {"fresh_gpt_disk_creates_the_partition_its_entry_names",
       [=] {
         return ApplyInputs{GptDisk(false), Boot(windows), std::nullopt, std::nullopt, {}};
       },
       Request("v1"), kAllSteps, ApplyResult::kInstalled,
       [](const ApplyPlan& plan) {
         const auto* prepare = Find<PreparePartitionStep>(plan);
         ASSERT_NE(prepare, nullptr);
         EXPECT_EQ(prepare->resume_run, 0);
         const CreatePartitionStep* create = nullptr;
         for (const auto& s : prepare->plan.steps)
           if (const auto* c = std::get_if<CreatePartitionStep>(&s)) create = c;
         ASSERT_NE(create, nullptr);
         EXPECT_EQ(create->uuid, LifeboatPartitionGuid(plan.disk_id));
         // The boot entry names that partition, known before it exists.
         const auto* verify = Find<VerifyBcdStep>(plan);
         ASSERT_NE(verify, nullptr);
         std::string lower = create->uuid;
         for (char& ch : lower)
           ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
         EXPECT_EQ(verify->spec.partition.partition.Text(), "{" + lower + "}");
         const auto* edit = Find<EditBcdStep>(plan);
         ASSERT_NE(edit, nullptr);
         EXPECT_GE(edit->objects.size(), 3u);  // loader, options, {bootmgr}'s tools list
         EXPECT_EQ(Find<RemoveOldStep>(plan)->versions, std::vector<std::string>{});
         EXPECT_TRUE(plan.previous_version.empty());
         EXPECT_EQ(plan.partition_number, 0u);
       },
       ""});
  cases.push_back(
      {"same_version_same_bytes_entry_intact_is_unchanged",
       [=] {
         auto disk = GptDisk(true);
         auto volume = Volume({"v1"}, 500);
         volume.target_manifest = ManifestOf("v1", kSha);
         volume.target_wim_sha256 = kSha;
         return ApplyInputs{disk, Boot(WithEntry(windows, disk, "v1")), volume, std::nullopt, {}};
       },
       Request("v1"),
       {"record"},
       ApplyResult::kUnchanged,
       [](const ApplyPlan& plan) { EXPECT_EQ(plan.previous_version, "v1"); },
       ""});
  cases.push_back(
      {"upgrade_writes_beside_the_old_version_then_removes_it",
       [=] {
         auto disk = GptDisk(true);
         return ApplyInputs{
             disk, Boot(WithEntry(windows, disk, "v1")), Volume({"v1"}, 800), std::nullopt, {}};
       },
       Request("v2"), kAllSteps, ApplyResult::kUpgraded,
       [](const ApplyPlan& plan) {
         EXPECT_EQ(plan.previous_version, "v1");
         EXPECT_TRUE(Find<PreparePartitionStep>(plan)->plan.NothingToDo());
         EXPECT_TRUE(Find<WriteImageStep>(plan)->remove_first.empty());
         EXPECT_EQ(Find<RemoveOldStep>(plan)->versions, std::vector<std::string>{"v1"});
         EXPECT_EQ(plan.partition_number, 5u);
         // Only what changes: the loader and options objects (their paths name v2).
         EXPECT_EQ(Find<EditBcdStep>(plan)->objects.size(), 2u);
       },
       ""});
  cases.push_back(
      {"going_to_an_older_version_is_a_downgrade",
       [=] {
         auto disk = GptDisk(true);
         return ApplyInputs{
             disk, Boot(WithEntry(windows, disk, "v10")), Volume({"v10"}, 800), std::nullopt, {}};
       },
       Request("v9"), kAllSteps, ApplyResult::kDowngraded,
       [](const ApplyPlan& plan) {
         EXPECT_EQ(plan.previous_version, "v10");
         EXPECT_EQ(Find<RemoveOldStep>(plan)->versions, std::vector<std::string>{"v10"});
       },
       ""});
  cases.push_back({"leftovers_no_entry_boots_are_removed_first_when_room_is_short",
                   [=] {
                     auto disk = GptDisk(true);
                     return ApplyInputs{disk,
                                        Boot(WithEntry(windows, disk, "v1")),
                                        Volume({"v0-interrupted", "v1"}, 200),
                                        std::nullopt,
                                        {}};
                   },
                   Request("v2"), kAllSteps, ApplyResult::kUpgraded,
                   [](const ApplyPlan& plan) {
                     EXPECT_EQ(Find<WriteImageStep>(plan)->remove_first,
                               std::vector<std::string>{"v0-interrupted"});
                     EXPECT_EQ(Find<RemoveOldStep>(plan)->versions, std::vector<std::string>{"v1"});
                   },
                   ""});
  cases.push_back(
      {"no_room_beside_the_installed_version_is_refused_before_anything_changes",
       [=] {
         auto disk = GptDisk(true);
         return ApplyInputs{
             disk, Boot(WithEntry(windows, disk, "v1")), Volume({"v1"}, 200), std::nullopt, {}};
       },
       Request("v2"),
       {},
       {},
       {},
       "no-room"});
  cases.push_back({"no_room_on_the_disk_is_the_planners_refusal",
                   [=] {
                     auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                                     .UefiBoot()
                                     .Windows(117, 7500, 7400)
                                     .WinRe(7617, 500)
                                     .Build();
                     return ApplyInputs{disk, Boot(windows), std::nullopt, std::nullopt, {}};
                   },
                   Request("v1"),
                   {},
                   {},
                   {},
                   "not-enough-space"});
  cases.push_back({"bitlocker_with_free_space_uses_the_free_space",
                   [=] {
                     auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                                     .UefiBoot()
                                     .BitLocker(117, 5000, kSuspended)
                                     .WinRe(5117, 500)
                                     .Build();
                     return ApplyInputs{disk, Boot(windows), std::nullopt, std::nullopt, {}};
                   },
                   Request("v1"), kAllSteps, ApplyResult::kInstalled,
                   [](const ApplyPlan& plan) {
                     for (const auto& s : Find<PreparePartitionStep>(plan)->plan.steps)
                       EXPECT_FALSE(std::holds_alternative<ShrinkNtfsStep>(s))
                           << "BitLocker is not shrunk";
                   },
                   ""});
  cases.push_back({"bitlocker_without_free_space_is_refused",
                   [=] {
                     auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                                     .UefiBoot()
                                     .BitLocker(117, 7000, kSuspended)
                                     .WinRe(7117, 500)
                                     .Build();
                     return ApplyInputs{disk, Boot(windows), std::nullopt, std::nullopt, {}};
                   },
                   Request("v1"),
                   {},
                   {},
                   {},
                   "bitlocker"});
  cases.push_back({"bitlocker_protection_on_is_refused_though_there_is_room",
                   [=] {
                     auto disk = DiskBuilder(LabelKind::kGpt, 512, 8192)
                                     .UefiBoot()
                                     .BitLocker(117, 5000, kProtectionOn)
                                     .WinRe(5117, 500)
                                     .Build();
                     return ApplyInputs{disk, Boot(windows), std::nullopt, std::nullopt, {}};
                   },
                   Request("v1"),
                   {},
                   {},
                   {},
                   "bitlocker-protection-on"});
  cases.push_back({"a_pending_bcd_transaction_log_is_refused",
                   [=] {
                     BootStoreState boot = Boot(windows);
                     boot.store.reset();
                     boot.problem =
                         Error{ErrorCode::kRefused,
                               "BCD.LOG1 holds a transaction Windows has not written back"};
                     return ApplyInputs{GptDisk(false), boot, std::nullopt, std::nullopt, {}};
                   },
                   Request("v1"),
                   {},
                   {},
                   {},
                   "boot-store-unusable"});
  cases.push_back(
      {"a_damaged_installed_image_is_written_again",
       [=] {
         auto disk = GptDisk(true);
         auto volume = Volume({"v1"}, 500);
         volume.target_manifest = ManifestOf("v1", kSha);
         volume.target_wim_sha256 = kOtherSha;  // the bytes on disk no longer match
         return ApplyInputs{disk, Boot(WithEntry(windows, disk, "v1")), volume, std::nullopt, {}};
       },
       Request("v1"), kAllSteps, ApplyResult::kRepaired,
       [](const ApplyPlan& plan) {
         EXPECT_FALSE(Find<WriteImageStep>(plan)->already_written);
         EXPECT_TRUE(Find<VerifyImageStep>(plan)->write_manifest);
         EXPECT_TRUE(Find<EditBcdStep>(plan)->objects.empty());
         EXPECT_TRUE(Find<RemoveOldStep>(plan)->versions.empty());
       },
       ""});
  cases.push_back({"a_written_image_with_a_broken_entry_only_fixes_the_entry",
                   [=] {
                     auto disk = GptDisk(true);
                     auto volume = Volume({"v1"}, 500);
                     volume.target_manifest = ManifestOf("v1", kSha);
                     volume.target_wim_sha256 = kSha;
                     return ApplyInputs{disk, Boot(windows), volume, std::nullopt, {}};
                   },
                   Request("v1"), kAllSteps, ApplyResult::kInstalled,
                   [](const ApplyPlan& plan) {
                     EXPECT_TRUE(Find<WriteImageStep>(plan)->already_written);
                     EXPECT_FALSE(Find<VerifyImageStep>(plan)->write_manifest);
                     EXPECT_FALSE(Find<EditBcdStep>(plan)->objects.empty());
                   },
                   ""});
  cases.push_back(
      {"the_same_version_with_other_bytes_is_a_conflict",
       [=] {
         auto disk = GptDisk(true);
         auto volume = Volume({"v1"}, 500);
         volume.target_manifest = ManifestOf("v1", kOtherSha);
         return ApplyInputs{disk, Boot(WithEntry(windows, disk, "v1")), volume, std::nullopt, {}};
       },
       Request("v1"),
       {},
       {},
       {},
       "version-conflict"});
  cases.push_back(
      {"an_image_without_the_firmwares_winload_is_unsuitable",
       [=] {
         return ApplyInputs{GptDisk(false), Boot(windows), std::nullopt, std::nullopt, {}};
       },
       [] {
         auto r = Request("v1");
         r.image.winload_efi.clear();
         return r;
       }(),
       {},
       {},
       {},
       "image-unsuitable"});
  cases.push_back(
      {"an_unfinished_partition_run_is_resumed_from_its_saved_plan",
       [=] {
         auto disk = GptDisk(false);
         auto saved = MakePlan(disk, Request("v1").partition_policy);
         EXPECT_TRUE(saved);
         return ApplyInputs{disk, Boot(windows), std::nullopt, UnfinishedPrepare{17, *saved}, {}};
       },
       Request("v1"), kAllSteps, ApplyResult::kInstalled,
       [](const ApplyPlan& plan) { EXPECT_EQ(Find<PreparePartitionStep>(plan)->resume_run, 17); },
       ""});
  cases.push_back(
      {"an_unfinished_run_without_lifeboats_guid_is_left_to_disk_prepare",
       [=] {
         auto disk = GptDisk(false);
         auto saved = MakePlan(disk, Request("v1").partition_policy);
         EXPECT_TRUE(saved);
         for (auto& step : saved->steps)
           if (auto* create = std::get_if<CreatePartitionStep>(&step)) create->uuid.clear();
         return ApplyInputs{disk, Boot(windows), std::nullopt, UnfinishedPrepare{9, *saved}, {}};
       },
       Request("v1"),
       {},
       {},
       {},
       "partition"});
  cases.push_back(
      {"mbr_entries_follow_the_moved_winre",
       [=] {
         return ApplyInputs{
             MbrDisk(), Boot(windows, image::Firmware::kBios), std::nullopt, std::nullopt, {}};
       },
       Request("v1"), kAllSteps, ApplyResult::kInstalled,
       [](const ApplyPlan& plan) {
         const auto* edit = Find<EditBcdStep>(plan);
         ASSERT_EQ(edit->moves.size(), 1u);
         EXPECT_EQ(edit->moves[0].from.offset, 7101 * MiB);
         EXPECT_LT(edit->moves[0].to_offset, 7101 * MiB);
         const auto& ref = Find<VerifyBcdStep>(plan)->spec.partition;
         EXPECT_FALSE(ref.gpt);
         EXPECT_EQ(ref.signature, 0x12345678u);
         EXPECT_EQ(ref.offset, Find<PreparePartitionStep>(plan)->plan.recovery_start.value * 512);
       },
       ""});
  return cases;
}

class ApplyPlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(ApplyPlanTest, Decides) {
  const Case& c = GetParam();
  auto planned = PlanApply(c.inputs(), c.request);
  if (!c.refusal.empty()) {
    ASSERT_TRUE(std::holds_alternative<ApplyRefusal>(planned)) << "expected " << c.refusal;
    const auto& refusal = std::get<ApplyRefusal>(planned);
    EXPECT_EQ(ApplyRefusalName(refusal), c.refusal) << refusal.message;
    EXPECT_FALSE(refusal.message.empty());
    return;
  }
  ASSERT_TRUE(std::holds_alternative<ApplyPlan>(planned))
      << std::get<ApplyRefusal>(planned).message;
  const auto& plan = std::get<ApplyPlan>(planned);
  EXPECT_EQ(Kinds(plan), c.steps);
  EXPECT_EQ(plan.result, c.result) << ApplyResultName(plan.result);
  for (const auto& step : plan.steps) EXPECT_FALSE(DescribeApplyStep(step).empty());
  if (c.check) c.check(plan);
}

INSTANTIATE_TEST_SUITE_P(Cases, ApplyPlanTest, ::testing::ValuesIn(Cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(ApplyPlan, IsTheSameForTheSameInputs) {
  const auto disk = GptDisk(false);
  const ApplyInputs inputs{disk, Boot(WindowsStore()), std::nullopt, std::nullopt, {}};
  auto a = PlanApply(inputs, Request("v1"));
  auto b = PlanApply(inputs, Request("v1"));
  ASSERT_TRUE(std::holds_alternative<ApplyPlan>(a));
  EXPECT_EQ(ApplyPlanToJson(std::get<ApplyPlan>(a)), ApplyPlanToJson(std::get<ApplyPlan>(b)));
}

}  // namespace
}  // namespace lifeboat::agent
