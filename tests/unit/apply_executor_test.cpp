// apply's executor (agent/apply_executor.h) on an in-memory machine: the boot store is a real
// Windows store edited by the real store editor (hivex), the journal a real SQLite file; the
// recovery volume's files are kept in a map (the disk tests write real NTFS). What is checked
// here is what the executor decides while it runs: the order of its journal records, that it
// never overwrites a store someone else changed after the plan, and that it puts the original
// store back when the entry does not read back.
#include "agent/apply_executor.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "common/sha256.h"
#include "tests/support/apply_fixtures.h"
#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

using namespace test::apply;

// A store kept in memory. `break_writes`: what is written reads back as the original.
class MemoryStore : public BootStoreIo {
 public:
  explicit MemoryStore(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  Result<std::vector<uint8_t>> Read() const override { return bytes_; }
  Result<void> Write(const std::vector<uint8_t>& bytes) const override {
    ++writes;
    if (!break_writes) bytes_ = bytes;
    return {};
  }
  Result<std::vector<std::pair<std::string, std::vector<uint8_t>>>> Logs() const override {
    return std::vector<std::pair<std::string, std::vector<uint8_t>>>{};
  }
  std::string Describe() const override { return "the in-memory store"; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  bool break_writes = false;
  mutable int writes = 0;

 private:
  mutable std::vector<uint8_t> bytes_;
};

// Version folders as a map: version -> the SHA-256 its boot.wim has.
struct MemoryVolume {
  std::map<std::string, std::string> wims;
  std::map<std::string, Manifest> manifests;
  Bytes free{2048 * test::MiB};
};

class MemoryFiles : public RecoveryFiles {
 public:
  explicit MemoryFiles(MemoryVolume& volume) : v_(volume) {}
  Result<std::vector<std::string>> Versions() override {
    std::vector<std::string> out;
    for (const auto& [version, sha] : v_.wims) out.push_back(version);
    return out;
  }
  Result<Bytes> FreeSpace() override { return v_.free; }
  Result<void> RemoveVersion(const std::string& version) override {
    v_.wims.erase(version);
    v_.manifests.erase(version);
    return {};
  }
  Result<void> WriteVersion(const std::string& version, const image::ImageInfo& image,
                            const std::vector<uint8_t>&,
                            const image::NtfsVolume::Progress& progress) override {
    v_.wims[version] = image.sha256;
    progress(image.size.value);
    return {};
  }
  Result<void> VerifyVersion(const std::string& version, const image::ImageInfo& image,
                             const std::string&) override {
    if (v_.wims[version] != image.sha256) return Fail(ErrorCode::kVerification, "hash differs");
    return {};
  }
  Result<void> WriteManifest(const Manifest& manifest) override {
    v_.manifests[manifest.version] = manifest;
    return {};
  }
  Result<void> Close() override { return {}; }

 private:
  MemoryVolume& v_;
};

class MemoryTarget : public ApplyTarget {
 public:
  explicit MemoryTarget(std::vector<uint8_t> bytes) : store(std::move(bytes)) {}
  Result<std::string> PreparePartition(const PreparePartitionStep& step) override {
    prepared = true;
    return std::string(step.plan.NothingToDo() ? "unchanged" : "prepared");
  }
  Result<uint32_t> LifeboatPartitionNumber() override { return 5u; }
  Result<std::unique_ptr<RecoveryFiles>> OpenRecoveryFiles() override {
    return std::unique_ptr<RecoveryFiles>(new MemoryFiles(volume));
  }
  Result<const BootStoreIo*> BootStore() override { return &store; }
  Result<void> Flush() override { return {}; }

  MemoryStore store;
  MemoryVolume volume;
  bool prepared = false;
};

class ApplyExecutorTest : public ::testing::Test {
 protected:
  ApplyPlan PlanFresh(const std::vector<uint8_t>& store_bytes) {
    BootStoreState boot = Boot(*ParseStore(store_bytes));
    boot.sha256 = Sha256Hex(store_bytes);
    auto planned =
        PlanApply(ApplyInputs{GptDisk(false), boot, std::nullopt, std::nullopt, {}}, request_);
    EXPECT_TRUE(std::holds_alternative<ApplyPlan>(planned));
    return std::get<ApplyPlan>(planned);
  }

  Result<ApplyOutcome> Execute(const ApplyPlan& plan, MemoryTarget& target) {
    auto journal = JournalStore::Open(dir_ / "journal.db");
    EXPECT_TRUE(journal) << journal.error().message;
    journal_ = std::move(*journal);
    auto run = journal_->BeginApply(plan.disk_id, plan.disk, plan.version, plan.image_sha256, "{}");
    EXPECT_TRUE(run);
    ApplyHooks hooks;
    hooks.crash_point = [&](const std::string& point) {
      points_.push_back(point);
      if (on_point_) on_point_(point, target);
    };
    return ExecuteApply(plan, request_, sdi_, target, *journal_, *run, hooks);
  }

  bcd::EntrySpec Spec(const ApplyPlan& plan) {
    for (const auto& step : plan.steps)
      if (const auto* verify = std::get_if<VerifyBcdStep>(&step)) return verify->spec;
    ADD_FAILURE() << "no verify-bcd step";
    return {};
  }

  test::TempDir dir_;
  ApplyRequest request_ = Request("v1");
  std::vector<uint8_t> sdi_ = std::vector<uint8_t>(4096, 0x5d);
  std::unique_ptr<JournalStore> journal_;
  std::vector<std::string> points_;
  std::function<void(const std::string&, MemoryTarget&)> on_point_;
};

TEST_F(ApplyExecutorTest, RunsEveryStepInOrderAndLeavesABootableEntry) {
  const auto original = WindowsStoreBytes();
  const ApplyPlan plan = PlanFresh(original);
  MemoryTarget target(original);
  // The store as it was is in the journal before it is replaced: what a killed run restores.
  bool looked = false;
  on_point_ = [&](const std::string& point, MemoryTarget& t) {
    if (point != "apply:edit-bcd:backed-up") return;
    looked = true;
    auto backup = journal_->InterruptedBcdBackup(plan.disk_id);
    ASSERT_TRUE(backup && *backup);
    EXPECT_EQ(**backup, original);
    EXPECT_EQ(t.store.bytes(), original);
  };
  auto done = Execute(plan, target);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(looked);

  EXPECT_TRUE(target.prepared);
  EXPECT_EQ(done->partition_number, 5u);
  EXPECT_EQ(target.volume.wims.at("v1"), kSha);
  EXPECT_EQ(target.volume.manifests.at("v1").sha256, kSha);
  auto edited = ParseStore(target.store.bytes());
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_TRUE(bcd::EntryIntact(*edited, Spec(plan)));

  // Each step between its crash points, in the plan's order, all done in the journal.
  std::vector<std::string> expected;
  for (const auto& step : plan.steps) {
    expected.push_back(std::string("apply:") + ApplyStepName(step) + ":before");
    if (std::holds_alternative<WriteImageStep>(step))
      expected.push_back("apply:write-image:chunk:1");
    if (std::holds_alternative<EditBcdStep>(step)) expected.push_back("apply:edit-bcd:backed-up");
    expected.push_back(std::string("apply:") + ApplyStepName(step) + ":after");
  }
  EXPECT_EQ(points_, expected);
  auto last = journal_->LastApply(plan.disk_id);
  ASSERT_TRUE(last && *last);
  ASSERT_EQ((*last)->steps.size(), plan.steps.size());
  for (const auto& [name, state] : (*last)->steps) EXPECT_EQ(state, "done") << name;
}

TEST_F(ApplyExecutorTest, AStoreSomeoneChangedAfterThePlanIsNotOverwritten) {
  const auto original = WindowsStoreBytes();
  const ApplyPlan plan = PlanFresh(original);
  // Windows (say) saved the store between plan and edit, changing {bootmgr}, which the plan
  // writes: the objects planned from the old store would overwrite that change.
  auto reparsed = ParseStore(original);
  ASSERT_TRUE(reparsed);
  auto& bootmgr = reparsed->objects.at(bcd::known::kBootMgr);
  bootmgr.elements.erase(bootmgr.elements.begin());
  auto other = EditStore(original, {bootmgr});
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_NE(Sha256Hex(*other), Sha256Hex(original));
  MemoryTarget target(*other);

  auto done = Execute(plan, target);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kVerification);
  EXPECT_NE(done.error().message.find("changed since apply planned"), std::string::npos)
      << done.error().message;
  EXPECT_EQ(target.store.bytes(), *other) << "the store was overwritten";
  EXPECT_EQ(target.store.writes, 0);
}

TEST_F(ApplyExecutorTest, AnEntryAlreadySavedByAnEarlierAttemptIsNotSavedAgain) {
  const auto original = WindowsStoreBytes();
  const ApplyPlan plan = PlanFresh(original);
  MemoryTarget first(original);
  ASSERT_TRUE(Execute(plan, first));
  // The same plan again (a run killed after edit-bcd replaced the store, before it was recorded).
  MemoryTarget again(first.store.bytes());
  auto done = Execute(plan, again);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(again.store.writes, 0);
  EXPECT_EQ(again.store.bytes(), first.store.bytes());
}

TEST_F(ApplyExecutorTest, AnEntryThatDoesNotReadBackPutsTheOriginalStoreBack) {
  const auto original = WindowsStoreBytes();
  const ApplyPlan plan = PlanFresh(original);
  MemoryTarget target(original);
  target.store.break_writes = true;  // writes are lost: the entry never reads back
  auto done = Execute(plan, target);
  ASSERT_FALSE(done);
  EXPECT_EQ(target.store.bytes(), original);
  // The image stays: the next run finds it written and only repairs the entry.
  EXPECT_EQ(target.volume.manifests.count("v1"), 1u);
}

}  // namespace
}  // namespace lifeboat::agent
