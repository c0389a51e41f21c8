// `apply` gathers what is on the disk, plans (agent/apply_plan.h), prints the plan with
// --dry-run, and otherwise journals it and runs it (agent/apply_executor.h). A run that was
// killed is resumed by running apply again: it plans from what the disk then holds.
#include "agent/apply_commands.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "agent/apply_executor.h"
#include "agent/apply_plan.h"
#include "agent/boot_store.h"
#include "agent/json_codec.h"
#include "agent/recovery_volume.h"
#include "agent/store_editor.h"
#include "agent/test_points.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "compose/image_contents.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

// Problems with the disk's boot store are refusals: the disk is in a state Lifeboat will not
// change, and nothing was changed.
bool IsRefusal(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.code == ErrorCode::kCorrupt ||
         e.code == ErrorCode::kUnsupported || e.code == ErrorCode::kRefused;
}

int ApplyRefusalExit(const ApplyRefusal& r) {
  if (r.partition_refusal) return RefusalExit(*r.partition_refusal);
  return r.reason == ApplyRefusalReason::kImageUnsuitable ? kExitBadImage : kExitRefused;
}

int ReportApplyRefusal(const ApplyRefusal& r, bool json) {
  if (json) {
    std::cout << ApplyRefusalToJson(r) << "\n";
  } else {
    std::cerr << "lifeboat-agent: refused (" << ApplyRefusalName(r) << "): " << r.message
              << "\nNothing was changed.\n";
  }
  return ApplyRefusalExit(r);
}

// The files on Lifeboat's partition as the plan needs them. boot.wim of the version being applied
// is hashed only when its manifest names this image (the hash reads the whole file).
Result<RecoveryVolumeState> GatherVolume(const std::string& disk, const DiskModel& model,
                                         const Partition& partition, const ApplyRequest& request) {
  auto volume = RecoveryVolume::Open(disk, model, partition, false);
  LIFEBOAT_TRY(volume);
  RecoveryVolume& v = **volume;
  RecoveryVolumeState state;
  auto versions = v.Versions();
  LIFEBOAT_TRY(versions);
  state.versions = *versions;
  for (const auto& version : state.versions) {
    auto size = v.WimSize(version);
    LIFEBOAT_TRY(size);
    if (*size) state.version_sizes[version] = Bytes{**size};
  }
  auto manifest = v.ReadManifest(request.version.str());
  LIFEBOAT_TRY(manifest);
  state.target_manifest = *manifest;
  if (*manifest && (*manifest)->sha256 == request.image.sha256) {
    if (auto hash = v.HashWim(request.version.str())) state.target_wim_sha256 = *hash;
  }
  auto free = v.FreeSpace();
  LIFEBOAT_TRY(free);
  state.free_space = *free;
  LIFEBOAT_TRY(v.Close());
  return state;
}

// The disk apply works on, open exclusively.
class DiskApplyTarget : public ApplyTarget {
 public:
  DiskApplyTarget(std::string path, const DiskHandle& disk, JournalStore& journal,
                  std::function<void(const std::string&)> say)
      : path_(std::move(path)), disk_(disk), journal_(journal), say_(std::move(say)) {}

  Result<std::string> PreparePartition(const PreparePartitionStep& step) override {
    if (step.plan.NothingToDo()) return std::string("unchanged");
    int64_t run = step.resume_run;
    if (run == 0) {
      auto begun = BeginPartitionRun(step.plan, journal_);
      LIFEBOAT_TRY(begun);
      run = *begun;
    } else {
      say_("Resuming partition run " + std::to_string(run) + " from the journal");
    }
    auto done = RunPartitionPlan(step.plan, run, disk_, journal_, say_);
    LIFEBOAT_TRY(done);
    partition_run_ = run;
    return std::string(step.resume_run ? "resumed" : "prepared");
  }

  // The journal run of the partition plan this apply ran, 0 for none.
  [[nodiscard]] int64_t partition_run() const { return partition_run_; }

  Result<uint32_t> LifeboatPartitionNumber() override {
    auto model = Model();
    LIFEBOAT_TRY(model);
    const Partition* lifeboat = model_->WithRole(Role::kLifeboat);
    if (lifeboat == nullptr) {
      return Fail(ErrorCode::kVerification,
                  "Lifeboat's partition is not on the disk after prepare");
    }
    return lifeboat->number;
  }

  Result<std::unique_ptr<RecoveryFiles>> OpenRecoveryFiles() override {
    auto model = Model();
    LIFEBOAT_TRY(model);
    const Partition* lifeboat = model_->WithRole(Role::kLifeboat);
    if (lifeboat == nullptr)
      return Fail(ErrorCode::kVerification, "Lifeboat's partition is not on the disk");
    auto volume = RecoveryVolume::Open(path_, *model_, *lifeboat, true);
    LIFEBOAT_TRY(volume);
    return std::unique_ptr<RecoveryFiles>(std::move(*volume));
  }

  Result<const BootStoreIo*> BootStore() override {
    if (!store_) {
      auto model = Model();
      LIFEBOAT_TRY(model);
      auto location = LocateBootStore(*model_);
      LIFEBOAT_TRY(location);
      store_.emplace(path_, *location);
    }
    return &*store_;
  }

  Result<void> Flush() override { return disk_.Flush(); }

 private:
  // The table as the partition plan left it, read once after it ran.
  Result<void> Model() {
    if (model_) return {};
    auto model = ReadDisk(disk_);
    LIFEBOAT_TRY(model);
    model_ = *model;
    return {};
  }

  std::string path_;
  const DiskHandle& disk_;
  JournalStore& journal_;
  std::function<void(const std::string&)> say_;
  std::optional<DiskModel> model_;
  int64_t partition_run_ = 0;
  std::optional<BootStoreFile> store_;
};

void PrintApply(const ApplyReport& r) {
  if (r.result == "planned") {
    std::cout << "Plan for " << r.disk << ": install Lifeboat " << r.version << " ("
              << HumanSize(r.image.size) << ", " << r.image.name << ")\n";
    for (size_t i = 0; i < r.steps.size(); ++i) {
      // The partition plan's own steps, one a line under it.
      const auto* prepare = r.plan ? std::get_if<PreparePartitionStep>(&r.plan->steps[i]) : nullptr;
      if (prepare == nullptr || prepare->plan.NothingToDo()) {
        std::cout << "  " << i + 1 << ". " << r.steps[i] << "\n";
        continue;
      }
      std::cout << "  " << i + 1 << ". " << (prepare->resume_run ? "resume" : "run")
                << " the partition plan:\n";
      for (const auto& step : prepare->plan.steps)
        std::cout << "       - " << DescribeStep(step, prepare->plan.sector_size) << "\n";
    }
    std::cout << "Nothing was changed (--dry-run).\n";
    return;
  }
  if (r.result == "unchanged") {
    std::cout << "unchanged: Lifeboat " << r.version << " is installed on " << r.disk
              << " and its boot entry is intact; nothing was changed\n";
    return;
  }
  std::cout << r.result << ": Lifeboat " << r.version << " on partition " << r.partition_number
            << " of " << r.disk << " (" << r.wim_path << ")";
  if (!r.previous_version.empty() && r.previous_version != r.version)
    std::cout << ", replacing " << r.previous_version;
  std::cout << "\nboot entry " << r.loader_guid << " in " << r.store << ", linked from the "
            << r.link << "\n";
  if (r.partition_run != 0)
    std::cout << "the partition was made by journal run " << r.partition_run << " (`disk restore "
              << r.disk << " --run " << r.partition_run << "` undoes it after `remove`)\n";
}

// A built image past its `expires` date (docs/image-build.md) is not installed, whoever asks.
int PrintReport(const ApplyReport& report, bool json) {
  if (json)
    std::cout << ApplyReportToJson(report) << "\n";
  else
    PrintApply(report);
  return kExitOk;
}

// The image as apply needs it. With a trusted hash (--sha256) only its metadata is read now: the
// write hashes every byte as it copies them and compares (RecoveryVolume::WriteVersion), so the
// source is read once. Without one, every byte is checked first, as `image check` does. Reported
// as step check-image, so that its time is not lost between the steps of the plan.
Result<image::ImageInfo> CheckImageForApply(const ApplyOptions& o,
                                            const std::function<void(const std::string&)>& say) {
  const bool trusted_hash = !o.expected_sha256.empty();
  say("Checking image " + o.image +
      (trusted_hash ? " (metadata; its bytes as they are written)" : ""));
  auto event = [&](StepStatus status, const std::string& message) {
    if (o.events) PrintEvent(StepEvent{0, "check-image", status, 0, 0, message, ""});
  };
  event(StepStatus::kStarted, "");
  auto image = image::CheckImage(
      o.image, trusted_hash ? image::CheckDepth::kMetadata : image::CheckDepth::kFull);
  if (!image) {
    event(StepStatus::kFailed, image.error().message);
    return image;
  }
  if (trusted_hash) {
    image->sha256 = o.expected_sha256;
    std::transform(image->sha256.begin(), image->sha256.end(), image->sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  event(StepStatus::kSucceeded, trusted_hash ? "metadata checked; SHA-256 to prove while writing"
                                             : "checked; SHA-256 " + image->sha256);
  return image;
}

}  // namespace

Result<BootStoreState> GatherBootStore(const BootStoreFile& file, const DiskModel& model,
                                       JournalStore& journal, bool dry_run,
                                       const std::function<void(const std::string&)>& say) {
  BootStoreState state;
  state.location = file.location();
  auto loaded = ReadStoreForEdit(file);
  if (!loaded && !dry_run && loaded.error().code != ErrorCode::kIo) {
    auto backup = journal.InterruptedBcdBackup(model.disk_id);
    LIFEBOAT_TRY(backup);
    if (*backup) {
      say("Restoring the BCD store from the journal: an earlier run stopped while writing it");
      LIFEBOAT_TRY(file.Write(**backup));
      loaded = ReadStoreForEdit(file);
    }
  }
  if (!loaded) {
    if (!IsRefusal(loaded.error())) return std::unexpected(loaded.error());
    state.problem = loaded.error();
    return state;
  }
  state.store = loaded->store;
  state.sha256 = Sha256Hex(loaded->bytes);
  return state;
}

int Apply(const ApplyOptions& o) {
  const bool json = o.disk.json;
  auto say = [&](const std::string& line) { (json ? std::cerr : std::cout) << line << "\n"; };
  auto version = Version::Parse(o.version, "--version");
  if (!version) return Report(version.error(), json);

  auto image = CheckImageForApply(o, say);
  if (!image) return ReportImageError(image.error(), json);
  if (auto current = compose::RefuseExpired(*image, TodayUtc(std::chrono::system_clock::now()),
                                            "it is not installed, and nothing was changed");
      !current)
    return Report(current.error(), json);
  auto sdi = image::ReadImageFile(*image, image->boot_sdi);
  if (!sdi) return ReportImageError(sdi.error(), json);
  ApplyRequest request(*version);
  request.image = *image;
  request.sdi_size = Bytes{sdi->size()};
  request.sdi_sha256 = Sha256Hex(*sdi);
  request.link = o.link;
  request.partition_policy = PolicyFrom(o.disk);
  request.partition_policy.image_size = o.disk.image_size.value_or(image->size);
  if (!o.disk.size)
    request.partition_policy.recovery_size =
        DefaultRecoverySize(request.partition_policy.image_size);
  request.size_given = o.disk.size.has_value();

  // What is on the disk.
  auto disk = DiskHandle::Open(
      o.disk.disk, o.disk.dry_run ? DiskHandle::Mode::kReadOnly : DiskHandle::Mode::kExclusive,
      std::chrono::seconds(o.disk.lock_wait_seconds));
  if (!disk) return Report(disk.error(), json);
  ApplyInputs inputs;
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), json);
  inputs.disk = *model;
  // Before anything reads the boot store or the recovery volume at offsets the table gives.
  if (auto safe = RequireSafeLayout(inputs.disk); !safe) return Report(safe.error(), json);
  auto location = LocateBootStore(inputs.disk);
  if (!location) {
    Error e = location.error();
    if (IsRefusal(e)) {
      e.code = ErrorCode::kRefused;
      e.reason = "boot-store-unusable";
    }
    return Report(e, json);
  }
  auto journal = OpenJournal(o.disk);
  if (!journal) return Report(journal.error(), json);
  JournalStore& j = **journal;
  BootStoreFile store_file(o.disk.disk, *location);
  auto boot = GatherBootStore(store_file, inputs.disk, j, o.disk.dry_run, say);
  if (!boot) return Report(boot.error(), json);
  inputs.boot = *boot;
  auto unfinished = j.UnfinishedRun(inputs.disk.disk_id);
  if (!unfinished) return Report(unfinished.error(), json);
  if (*unfinished && !inputs.disk.disk_id.empty()) {
    auto saved = PlanFromJson((*unfinished)->plan_json);
    if (!saved) return Report(saved.error(), json);
    // Only an unfinished prepare is apply's to finish: a removal or a WinRE grow is finished by
    // its own command first.
    if (saved->goal != PlanGoal::kLifeboatPartition)
      return Report(UnfinishedRunError(o.disk.disk, (*unfinished)->id, *saved, "apply"), json);
    saved->disk_path = o.disk.disk;
    inputs.unfinished_prepare = UnfinishedPrepare{(*unfinished)->id, *saved};
  }
  auto completed = j.CompletedPlans(inputs.disk.disk_id);
  if (!completed) return Report(completed.error(), json);
  for (const auto& plan_json : *completed) {
    auto plan = PlanFromJson(plan_json);
    if (!plan) return Report(plan.error(), json);
    inputs.completed_prepares.push_back(*plan);
  }
  if (const Partition* existing = inputs.disk.WithRole(Role::kLifeboat);
      existing && !inputs.unfinished_prepare) {
    auto volume = GatherVolume(o.disk.disk, inputs.disk, *existing, request);
    if (!volume) return Report(volume.error(), json);
    inputs.volume = *volume;
  }

  // What to do.
  auto planned = PlanApply(inputs, request);
  if (auto* refusal = std::get_if<ApplyRefusal>(&planned))
    return ReportApplyRefusal(*refusal, json);
  const ApplyPlan& plan = std::get<ApplyPlan>(planned);

  ApplyReport report;
  report.disk = o.disk.disk;
  report.version = o.version;
  report.previous_version = plan.previous_version;
  report.image = *image;
  report.firmware = image::FirmwareName(plan.firmware);
  report.store = plan.store;
  report.link = bcd::LinkPolicyName(plan.link);
  report.partition_number = plan.partition_number;
  report.wim_path = plan.wim_path;
  report.loader_guid = plan.loader.Text();

  if (o.disk.dry_run) {
    report.result = "planned";
    const Plan* partition_plan = plan.PartitionPlan();
    report.partition_result =
        partition_plan == nullptr || partition_plan->NothingToDo() ? "unchanged" : "planned";
    for (const auto& step : plan.steps) report.steps.push_back(DescribeApplyStep(step));
    report.plan = plan;
    return PrintReport(report, json);
  }
  if (plan.result == ApplyResult::kUnchanged) {
    report.result = "unchanged";
    report.partition_result = "unchanged";
    if (auto r = j.RecordInstall({inputs.disk.disk_id, o.disk.disk, o.version, image->sha256,
                                  image->size.value, image->name, report.wim_path, report.firmware,
                                  report.link, ""});
        !r)
      return Report(r.error(), json);
    return PrintReport(report, json);
  }

  // Do it.
  auto run = j.BeginApply(inputs.disk.disk_id, o.disk.disk, o.version, image->sha256,
                          ApplyPlanToJson(plan));
  if (!run) return Report(run.error(), json);
  DiskApplyTarget target(o.disk.disk, *disk, j, say);
  ApplyHooks hooks;
  hooks.say = say;
  if (o.events) hooks.event = PrintEvent;
  hooks.crash_point = TestPoint;
  auto done = ExecuteApply(plan, request, *sdi, target, j, *run, hooks);
  if (!done) {
    (void)j.FinishApply(*run, false, "", done.error().message);
    return Report(done.error().Context("apply " + o.version + " to " + o.disk.disk + " (run " +
                                       std::to_string(*run) +
                                       " is in the journal; run apply again to resume)"),
                  json);
  }
  report.result = ApplyResultName(plan.result);
  report.partition_result = done->partition_result;
  report.partition_run = target.partition_run();
  report.partition_number = done->partition_number;
  report.steps = done->lines;
  if (auto r = j.FinishApply(*run, true, report.result, ""); !r) return Report(r.error(), json);
  return PrintReport(report, json);
}

int ReportImageError(const Error& e, bool json) {
  if (json) {
    std::cout << ErrorToJson(e) << "\n";
  } else {
    std::cerr << "lifeboat-agent: " << e.message << "\nNothing was changed.\n";
  }
  return e.code == ErrorCode::kNotFound ? kExitNotFound : kExitBadImage;
}

}  // namespace lifeboat::agent
