#include "agent/apply_executor.h"

#include "agent/store_editor.h"
#include "common/overloaded.h"
#include "common/sha256.h"

namespace lifeboat::agent {

namespace {

StepEvent Event(const std::string& step, StepStatus status, const std::string& message = "",
                uint64_t done = 0, uint64_t total = 0) {
  return StepEvent{0, step, status, done, total, message, ""};
}

// One run of the plan: the executor's state between steps.
class ApplyRun {
 public:
  ApplyRun(const ApplyPlan& plan, const ApplyRequest& request, const std::vector<uint8_t>& sdi,
           ApplyTarget& target, JournalStore& journal, int64_t run, const ApplyHooks& hooks)
      : plan_(plan),
        request_(request),
        sdi_(sdi),
        target_(target),
        journal_(journal),
        run_(run),
        hooks_(hooks) {}

  Result<ApplyOutcome> Run() {
    for (const auto& step : plan_.steps) {
      const std::string name = ApplyStepName(step);
      hooks_.crash_point("apply:" + name + ":before");
      LIFEBOAT_TRY(journal_.ApplyStepStarted(run_, name));
      hooks_.event(Event(name, StepStatus::kStarted));
      auto done = std::visit([&](const auto& s) { return Do(s); }, step);
      if (!done) {
        hooks_.event(Event(name, StepStatus::kFailed, done.error().message));
        return std::unexpected(done.error());
      }
      LIFEBOAT_TRY(journal_.ApplyStepDone(run_, name, *done));
      outcome_.lines.push_back(name + ": " + *done);
      hooks_.say(name + ": " + *done);
      hooks_.event(Event(name, StepStatus::kSucceeded, *done));
      hooks_.crash_point("apply:" + name + ":after");
    }
    if (files_) {
      LIFEBOAT_TRY(files_->Close());
    }
    return outcome_;
  }

 private:
  Result<RecoveryFiles*> Files() {
    if (!files_) {
      auto opened = target_.OpenRecoveryFiles();
      LIFEBOAT_TRY(opened);
      files_ = std::move(*opened);
    }
    return files_.get();
  }

  Result<std::string> Do(const PreparePartitionStep& s) {
    auto result = target_.PreparePartition(s);
    LIFEBOAT_TRY(result);
    outcome_.partition_result = *result;
    auto number = target_.LifeboatPartitionNumber();
    LIFEBOAT_TRY(number);
    outcome_.partition_number = *number;
    return *result;
  }

  Result<std::string> Do(const WriteImageStep& s) {
    if (s.already_written) return std::string("already written");
    auto files = Files();
    LIFEBOAT_TRY(files);
    RecoveryFiles& v = **files;
    for (const auto& old : s.remove_first) {
      LIFEBOAT_TRY(v.RemoveVersion(old));
    }
    // The plan decided from the volume as it was; a fresh partition is checked here.
    const Bytes needed = RoomNeeded(request_);
    auto free = v.FreeSpace();
    LIFEBOAT_TRY(free);
    if (*free < needed) {
      return Refuse("no-room", "Lifeboat's partition has " + HumanSize(*free) +
                                   " free and the image needs " + HumanSize(needed));
    }
    uint64_t chunk = 0, last_percent = 0, last_event_percent = 0;
    const uint64_t total = request_.image.size.value;
    auto progress = [&](uint64_t done) {
      hooks_.crash_point("apply:write-image:chunk:" + std::to_string(++chunk));
      uint64_t percent = total ? done * 100 / total : 100;
      if (percent >= last_percent + 25) {
        last_percent = percent;
        hooks_.say("  written " + std::to_string(percent) + "%");
      }
      if (percent >= last_event_percent + 5) {
        last_event_percent = percent;
        hooks_.event(Event("write-image", StepStatus::kProgress, "", done, total));
      }
      return true;
    };
    LIFEBOAT_TRY(v.WriteVersion(s.version, request_.image, sdi_, progress));
    return "wrote " + HumanSize(s.size) + " to " + s.wim_path;
  }

  Result<std::string> Do(const VerifyImageStep& s) {
    auto files = Files();
    LIFEBOAT_TRY(files);
    RecoveryFiles& v = **files;
    LIFEBOAT_TRY(v.VerifyVersion(s.version, request_.image, s.sdi_sha256));
    if (s.write_manifest) {
      const auto& image = request_.image;
      Manifest m{{s.version,
                  image.sha256,
                  image.size.value,
                  image.name,
                  image.description,
                  image.architecture,
                  {},
                  {}},
                 s.sdi_sha256};
      LIFEBOAT_TRY(v.WriteManifest(m));
    }
    // The volume is closed (flushed, unmounted) before the boot entry may point at it.
    LIFEBOAT_TRY(v.Close());
    files_.reset();
    LIFEBOAT_TRY(target_.Flush());
    return "read back; SHA-256 " + s.sha256 + " matches";
  }

  Result<std::string> Do(const EditBcdStep& s) {
    auto store = target_.BootStore();
    LIFEBOAT_TRY(store);
    auto loaded = ReadStoreForEdit(**store);
    LIFEBOAT_TRY(loaded);
    original_ = loaded->bytes;
    std::vector<bcd::Object> objects = s.objects;
    if (Sha256Hex(loaded->bytes) != s.store_sha256) {
      // Changed since the plan: by this run itself (an earlier attempt's edit, or the partition
      // step's retarget-winre making Windows' recovery entry follow a moved WinRE), after which
      // what is left to do is part of what was planned; or by someone else, whose changes are not
      // overwritten with objects made from the old store.
      auto again = bcd::PlanEntryEdit(loaded->store, s.spec, s.moves);
      LIFEBOAT_TRY(again);
      const bool planned = std::all_of(again->begin(), again->end(), [&](const bcd::Object& o) {
        return std::find(s.objects.begin(), s.objects.end(), o) != s.objects.end();
      });
      if (!planned) {
        return Fail(ErrorCode::kVerification,
                    "the BCD store " + s.store +
                        " changed since apply planned (Windows or another tool wrote it); run "
                        "apply again to plan against it");
      }
      objects = *again;
    }
    if (objects.empty()) return std::string("boot entry already points at " + plan_.version);
    LIFEBOAT_TRY(journal_.SaveBcdBackup(run_, plan_.disk_id, loaded->bytes));
    hooks_.crash_point("apply:edit-bcd:backed-up");
    auto bytes = EditStore(loaded->bytes, objects);
    LIFEBOAT_TRY(bytes);
    LIFEBOAT_TRY(ReplaceStore(**store, *bytes, loaded->bytes));
    std::string changed;
    for (const auto& object : objects)
      changed += (changed.empty() ? "" : ", ") + bcd::DisplayName(object.id);
    return "saved " + changed + " in " + s.store;
  }

  Result<std::string> Do(const VerifyBcdStep& s) {
    auto store = target_.BootStore();
    LIFEBOAT_TRY(store);
    auto reread = ReadStoreForEdit(**store);
    LIFEBOAT_TRY(reread);
    if (!bcd::EntryIntact(reread->store, s.spec)) {
      if (!original_.empty()) {
        LIFEBOAT_TRY((*store)->Write(original_));
      }
      return Fail(
          ErrorCode::kVerification,
          "Lifeboat's boot entry did not read back as written; the original store was put back");
    }
    return "entry " + s.spec.loader.Text() + " boots " + s.spec.wim_path;
  }

  Result<std::string> Do(const RemoveOldStep& s) {
    if (s.versions.empty()) return std::string("nothing to remove");
    auto files = Files();
    LIFEBOAT_TRY(files);
    std::string gone;
    for (const auto& old : s.versions) {
      LIFEBOAT_TRY((*files)->RemoveVersion(old));
      gone += (gone.empty() ? "" : ", ") + old;
    }
    LIFEBOAT_TRY((*files)->Close());
    files_.reset();
    return "removed " + gone;
  }

  Result<std::string> Do(const RecordStep&) {
    const auto& image = request_.image;
    LIFEBOAT_TRY(journal_.RecordInstall({plan_.disk_id, plan_.disk, plan_.version, image.sha256,
                                         image.size.value, image.name, plan_.wim_path,
                                         image::FirmwareName(plan_.firmware),
                                         bcd::LinkPolicyName(plan_.link), ""}));
    return "version " + plan_.version + " recorded in the journal";
  }

  const ApplyPlan& plan_;
  const ApplyRequest& request_;
  const std::vector<uint8_t>& sdi_;
  ApplyTarget& target_;
  JournalStore& journal_;
  const int64_t run_;
  const ApplyHooks& hooks_;
  std::unique_ptr<RecoveryFiles> files_;
  std::vector<uint8_t> original_;  // the store before edit-bcd replaced it
  ApplyOutcome outcome_;
};

}  // namespace

Result<ApplyOutcome> ExecuteApply(const ApplyPlan& plan, const ApplyRequest& request,
                                  const std::vector<uint8_t>& sdi, ApplyTarget& target,
                                  JournalStore& journal, int64_t run, const ApplyHooks& hooks) {
  return ApplyRun(plan, request, sdi, target, journal, run, hooks).Run();
}

}  // namespace lifeboat::agent
