// Crash contract: every step is recorded in the journal before and after it acts and is
// idempotent against what the disk holds, so running apply again after a kill converges. The
// order is mark, write, verify, activate: the new image goes into its own folder, is read back
// and hashed, gets its manifest, and only then does the boot entry switch to it; the previous
// version is removed after the switch. The BCD store is copied into the journal before it is
// replaced; a store left unreadable by a cut-short write is restored from that copy on the next
// run.
#include "agent/apply_commands.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>

#include "agent/boot_store.h"
#include "agent/json_codec.h"
#include "agent/recovery_volume.h"
#include "agent/step_event.h"
#include "agent/store_editor.h"
#include "common/sha256.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

// Fault injection for the crash tests: "apply:<step>:before|after", "apply:write-image:chunk:<n>",
// "apply:edit-bcd:backed-up" (the store is in the journal and not yet replaced). The same points
// can hold apply until a file exists (LIFEBOAT_TEST_HOLD_AT, LIFEBOAT_TEST_HOLD_FILE), for tests
// that look at what others see while apply runs.
void CrashPoint(const std::string& point) {
  static const char* at = std::getenv("LIFEBOAT_TEST_CRASH_AT");
  if (at != nullptr && point == at) kill(getpid(), SIGKILL);
  static const char* hold_at = std::getenv("LIFEBOAT_TEST_HOLD_AT");
  static const char* hold_file = std::getenv("LIFEBOAT_TEST_HOLD_FILE");
  if (hold_at != nullptr && hold_file != nullptr && point == hold_at) {
    std::error_code ec;
    for (int i = 0; i < 1200 && !std::filesystem::exists(hold_file, ec); ++i) usleep(100'000);
  }
}

bcd::Guid DerivedGuid(const std::string& disk_id, const std::string& role) {
  Sha256 hash;
  std::string seed = "lifeboat:" + role + ":" + disk_id;
  hash.Update({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()});
  auto digest = hash.Digest();
  return bcd::Guid::FromHash(digest);
}

// Problems with the disk's boot store or image are refusals: the disk is in a state Lifeboat will
// not change, and nothing was changed.
Error AsRefusal(const Error& e) {
  if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kCorrupt ||
      e.code == ErrorCode::kUnsupported)
    return {ErrorCode::kRefused, e.message};
  return e;
}

// On MBR disks the store names partitions by byte offset: every partition a finished prepare
// run moved must be followed by Windows' entries. Retargeting is idempotent (an entry already
// at the new offset no longer matches the old one), so all finished runs can be replayed.
Result<std::vector<bcd::PartitionMove>> MovesFromJournal(JournalStore& journal,
                                                         const DiskModel& model,
                                                         const bcd::PartitionRef& any_partition) {
  std::vector<bcd::PartitionMove> moves;
  if (model.label != LabelKind::kMbr) return moves;
  auto plans = journal.CompletedPlans(model.disk_id);
  if (!plans) return std::unexpected(plans.error());
  for (const auto& json : *plans) {
    auto plan = PlanFromJson(json);
    if (!plan) return std::unexpected(plan.error());
    for (const auto& step : plan->steps) {
      if (const auto* move = std::get_if<MovePartitionStep>(&step)) {
        bcd::PartitionMove m;
        m.from.gpt = false;
        m.from.signature = any_partition.signature;
        m.from.offset = ToBytes(move->from, plan->sector_size).value;
        m.to_offset = ToBytes(move->to, plan->sector_size).value;
        moves.push_back(m);
      }
    }
  }
  return moves;
}

std::string Description(const image::ImageInfo& image, const std::string& version) {
  std::string name = image.name.empty() ? "recovery image" : image.name;
  return "Lifeboat " + version + " (" + name + ")";
}

StepEvent Event(const std::string& step, const std::string& status, const std::string& message = "",
                uint64_t done = 0, uint64_t total = 0) {
  StepEvent e;
  e.step = step;
  e.status = status;
  e.message = message;
  e.bytes_done = done;
  e.bytes_total = total;
  return e;
}

struct StepRunner {
  JournalStore& journal;
  int64_t run;
  ApplyReport& report;
  std::function<void(const std::string&)> say;
  std::function<void(const StepEvent&)> event;

  // Runs one named step between its journal records and crash points.
  Result<void> operator()(const std::string& name,
                          const std::function<Result<std::string>()>& body) {
    CrashPoint("apply:" + name + ":before");
    if (auto r = journal.ApplyStepStarted(run, name); !r) return r;
    event(Event(name, "started"));
    auto outcome = body();
    if (!outcome) {
      event(Event(name, "failed", outcome.error().message));
      return std::unexpected(outcome.error());
    }
    if (auto r = journal.ApplyStepDone(run, name, *outcome); !r) return r;
    report.steps.push_back(name + ": " + *outcome);
    say(name + ": " + *outcome);
    event(Event(name, "succeeded", *outcome));
    CrashPoint("apply:" + name + ":after");
    return {};
  }
};

void PrintApply(const ApplyReport& r) {
  if (r.result == "planned") {
    std::cout << "Plan for " << r.disk << ": install Lifeboat " << r.version << " ("
              << HumanSize(r.image.size) << ", " << r.image.name << ")\n";
    for (size_t i = 0; i < r.steps.size(); ++i)
      std::cout << "  " << i + 1 << ". " << r.steps[i] << "\n";
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
}

}  // namespace

int Apply(const ApplyOptions& o) {
  const bool json = o.disk.json;
  auto say = [&](const std::string& line) { (json ? std::cerr : std::cout) << line << "\n"; };
  // Flushed at once: whoever follows the events reads them while apply runs.
  auto event = [&](const StepEvent& e) {
    if (o.events) std::cerr << EventLine(e) << std::endl;
  };
  if (!ValidVersion(o.version)) {
    return Report({ErrorCode::kInvalidArgument, NotAName("--version", o.version)}, json);
  }
  ApplyReport report;
  report.disk = o.disk.disk;
  report.version = o.version;
  report.link = bcd::LinkPolicyName(o.link);

  say("Checking image " + o.image);
  auto image = image::CheckImage(o.image);
  if (!image) return ReportImageError(image.error(), json);
  report.image = *image;

  auto disk = DiskHandle::Open(
      o.disk.disk, o.disk.dry_run ? DiskHandle::Mode::kReadOnly : DiskHandle::Mode::kExclusive,
      std::chrono::seconds(o.disk.lock_wait_seconds));
  if (!disk) return Report(disk.error(), json);
  auto model = ReadDisk(*disk);
  if (!model) return Report(model.error(), json);
  // Before anything reads the boot store or the recovery volume at offsets the table gives.
  if (auto safe = RequireSafeLayout(*model); !safe) return Report(safe.error(), json);
  auto location = LocateBootStore(*model);
  if (!location) return Report(AsRefusal(location.error()), json);
  report.firmware = image::FirmwareName(location->firmware);
  report.store = location->Describe();
  const std::string winload = image->WinloadFor(location->firmware);
  if (winload.empty()) {
    return ReportImageError(
        {ErrorCode::kUnsupported,
         o.image + " has no " +
             (location->firmware == image::Firmware::kUefi ? "winload.efi" : "winload.exe") +
             ", which this " + report.firmware + " machine's boot manager needs"},
        json);
  }
  BootStoreFile store_file(o.disk.disk, *location);
  auto journal = JournalStore::Open(o.disk.state_dir + "/journal.db");
  if (!journal) return Report(journal.error(), json);
  JournalStore& j = **journal;

  // A store an interrupted run left unreadable is restored from that run's copy first.
  auto loaded = ReadStoreForEdit(store_file);
  if (!loaded && !o.disk.dry_run &&
      (loaded.error().code == ErrorCode::kCorrupt || loaded.error().code == ErrorCode::kRefused ||
       loaded.error().code == ErrorCode::kNotFound)) {
    auto backup = j.InterruptedBcdBackup(model->disk_id);
    if (!backup) return Report(backup.error(), json);
    if (*backup) {
      say("Restoring the BCD store from the journal: an earlier run stopped while writing it");
      if (auto r = store_file.Write(**backup); !r) return Report(r.error(), json);
      loaded = ReadStoreForEdit(store_file);
    }
  }
  if (!loaded) return Report(AsRefusal(loaded.error()), json);

  const bcd::Guid loader = LoaderGuid(model->disk_id);
  const bcd::Guid options = OptionsGuid(model->disk_id);
  report.loader_guid = loader.Text();
  auto entry = bcd::FindEntry(loaded->store, loader, options);
  if (entry && entry->device) report.previous_version = VersionOfWimPath(entry->device->path);
  report.wim_path = WimPath(o.version);

  auto spec_for = [&](const DiskModel& m, const Partition& p) -> Result<bcd::EntrySpec> {
    auto ref = PartitionRefFor(m, p);
    if (!ref) return std::unexpected(ref.error());
    bcd::EntrySpec spec;
    spec.loader = loader;
    spec.options = options;
    spec.partition = *ref;
    spec.wim_path = WimPath(o.version);
    spec.sdi_path = SdiPath(o.version);
    spec.winload = winload;
    spec.description = Description(*image, o.version);
    spec.link = o.link;
    return spec;
  };

  // A prepare run an earlier apply left unfinished is resumed from its saved plan: the disk is
  // between two layouts, and Lifeboat's partition may exist but not be formatted yet.
  auto unfinished = j.UnfinishedRun(model->disk_id);
  if (!unfinished) return Report(unfinished.error(), json);

  // Already there? Same version, same bytes, entry intact, nothing else left: unchanged.
  if (const Partition* existing = model->WithRole(Role::kLifeboat); existing && !*unfinished) {
    report.partition_number = existing->number;
    auto volume = RecoveryVolume::Open(o.disk.disk, *model, *existing, false);
    if (!volume) return Report(volume.error(), json);
    auto manifest = (*volume)->ReadManifest(o.version);
    if (!manifest) return Report(manifest.error(), json);
    auto versions = (*volume)->Versions();
    if (!versions) return Report(versions.error(), json);
    if (*manifest && (*manifest)->sha256 != image->sha256) {
      return Report(
          {ErrorCode::kRefused, "version " + o.version + " is already on " + o.disk.disk +
                                    " with a different image (SHA-256 " + (*manifest)->sha256 +
                                    ", this one " + image->sha256 +
                                    "); give the new image a new version. Nothing was changed"},
          json);
    }
    auto spec = spec_for(*model, *existing);
    if (!spec) return Report(spec.error(), json);
    bool intact = *manifest && bcd::EntryIntact(loaded->store, *spec) &&
                  *versions == std::vector<std::string>{o.version};
    if (intact) {
      // The bytes too: a damaged copy is rewritten, not reported as unchanged.
      auto hash = (*volume)->HashWim(o.version);
      intact = hash && *hash == image->sha256;
    }
    (void)(*volume)->Close();
    if (intact) {
      report.result = "unchanged";
      report.partition_result = "unchanged";
      if (auto r = j.RecordInstall({model->disk_id, o.disk.disk, o.version, image->sha256,
                                    image->size.value, image->name, report.wim_path,
                                    report.firmware, report.link, ""});
          !r)
        return Report(r.error(), json);
      if (json)
        std::cout << ApplyReportToJson(report) << "\n";
      else
        PrintApply(report);
      return kExitOk;
    }
  }

  DiskOptions prepare = o.disk;
  if (!prepare.image_size) prepare.image_size = image->size;
  // An existing Lifeboat partition is used as it is unless a size is asked for: whether the
  // image fits is decided by the free space inside it (write-image).
  // One too small to hold even this image alone is refused as too small (lifeboat-too-small).
  if (const Partition* existing = model->WithRole(Role::kLifeboat); existing && !prepare.size)
    prepare.size = std::max(ToBytes(existing->size, model->sector_size),
                            MinimumRecoverySize(prepare.image_size));
  // Every size and the layout are checked before a run is begun in the journal; an unfinished
  // run resumes its saved plan instead.
  std::optional<Plan> plan;
  if (!*unfinished || o.disk.dry_run) {
    auto made = MakePlan(*model, PolicyFrom(prepare));
    if (!made) return Report(RefusalError(made.error()), json);
    plan = *made;
  }
  if (o.disk.dry_run) {
    report.result = "planned";
    report.partition_result = plan->NothingToDo() ? "unchanged" : "planned";
    for (const auto& step : plan->steps)
      report.steps.push_back(DescribeStep(step, plan->sector_size));
    report.steps.push_back("write " + HumanSize(image->size) + " to " + WimPath(o.version) +
                           " and boot.sdi beside it on Lifeboat's partition; read both back and "
                           "compare SHA-256");
    report.steps.push_back("back up the BCD store " + report.store + " into the journal, then " +
                           (entry ? "update" : "add") + " Lifeboat's boot entry " + loader.Text() +
                           " (" + report.link + ")");
    if (!report.previous_version.empty() && report.previous_version != o.version)
      report.steps.push_back("remove version " + report.previous_version);
    if (json)
      std::cout << ApplyReportToJson(report) << "\n";
    else
      PrintApply(report);
    return kExitOk;
  }

  auto run = j.BeginApply(model->disk_id, o.disk.disk, o.version, image->sha256);
  if (!run) return Report(run.error(), json);
  StepRunner step{j, *run, report, say, event};
  auto fail = [&](const Error& e) {
    (void)j.FinishApply(*run, false, "", e.message);
    return Report(
        e.Context("apply " + o.version + " to " + o.disk.disk + " (run " + std::to_string(*run) +
                  " is in the journal; run apply again to resume)"),
        json);
  };

  std::optional<Refusal> refused;
  auto prepared = step("prepare-partition", [&]() -> Result<std::string> {
    auto outcome = PrepareDisk(prepare, *disk, *model, j, say);
    if (!outcome) return std::unexpected(outcome.error());
    if (auto* refusal = std::get_if<Refusal>(&*outcome)) {
      refused = *refusal;
      return Fail(ErrorCode::kRefused,
                  std::string(RefusalName(refusal->reason)) + ": " + refusal->message);
    }
    report.partition_result = std::get<PrepareOutcome>(*outcome).result;
    return report.partition_result;
  });
  if (!prepared) {
    if (refused) (void)j.FinishApply(*run, false, "", prepared.error().message);
    if (refused) {
      Error e = RefusalError(*refused);
      e.message += ". Nothing was changed";
      return Report(e, json);
    }
    return fail(prepared.error());
  }

  auto after = ReadDisk(*disk);
  if (!after) return fail(after.error());
  const Partition* lifeboat = after->WithRole(Role::kLifeboat);
  if (lifeboat == nullptr) {
    return fail(
        {ErrorCode::kVerification, "Lifeboat's partition is not on the disk after prepare"});
  }
  report.partition_number = lifeboat->number;
  auto spec = spec_for(*after, *lifeboat);
  if (!spec) return fail(spec.error());
  auto moves = MovesFromJournal(j, *after, spec->partition);
  if (!moves) return fail(moves.error());
  auto sdi = image::ReadImageFile(*image, image->boot_sdi);
  if (!sdi) return fail(sdi.error());
  const std::string sdi_sha256 = Sha256Hex(*sdi);

  auto volume = RecoveryVolume::Open(o.disk.disk, *after, *lifeboat, true);
  if (!volume) return fail(volume.error());
  RecoveryVolume& v = **volume;
  bool already_written = false;
  auto written = step("write-image", [&]() -> Result<std::string> {
    auto manifest = v.ReadManifest(o.version);
    if (!manifest) return std::unexpected(manifest.error());
    if (*manifest && (*manifest)->sha256 == image->sha256) {
      auto hash = v.HashWim(o.version);
      if (hash && *hash == image->sha256) {
        already_written = true;
        return std::string("already written");
      }
      say("the copy of " + o.version + " on disk does not match its manifest; writing it again");
    }
    const uint64_t needed = image->size.value + sdi->size() + 16 * kMiB.value;
    auto free = v.FreeSpace();
    if (!free) return std::unexpected(free.error());
    if (free->value < needed) {
      // Leftovers of versions no entry boots (an interrupted write, an old upgrade) go first.
      auto versions = v.Versions();
      if (!versions) return std::unexpected(versions.error());
      for (const auto& old : *versions) {
        if (old == report.previous_version) continue;
        if (auto r = v.RemoveVersion(old); !r) return std::unexpected(r.error());
      }
      free = v.FreeSpace();
      if (!free) return std::unexpected(free.error());
    }
    if (free->value < needed) {
      return Fail(ErrorCode::kRefused,
                  "Lifeboat's partition has " + HumanSize(*free) + " free and the image needs " +
                      HumanSize(Bytes{needed}) +
                      (report.previous_version.empty()
                           ? std::string()
                           : " beside the installed version " + report.previous_version +
                                 ", which stays until a new one is verified"));
    }
    uint64_t chunk = 0, last_percent = 0, last_event_percent = 0;
    auto progress = [&](uint64_t done) {
      CrashPoint("apply:write-image:chunk:" + std::to_string(++chunk));
      uint64_t percent = image->size.value ? done * 100 / image->size.value : 100;
      if (!json && percent >= last_percent + 25) {
        last_percent = percent;
        say("  written " + std::to_string(percent) + "%");
      }
      if (percent >= last_event_percent + 5) {
        last_event_percent = percent;
        event(Event("write-image", "progress", "", done, image->size.value));
      }
      return true;
    };
    if (auto r = v.WriteVersion(o.version, *image, *sdi, progress); !r)
      return std::unexpected(r.error());
    return "wrote " + HumanSize(image->size) + " to " + WimPath(o.version);
  });
  if (!written) return fail(written.error());

  auto verified = step("verify-image", [&]() -> Result<std::string> {
    if (auto r = v.VerifyVersion(o.version, *image, sdi_sha256); !r)
      return std::unexpected(r.error());
    if (!already_written) {
      Manifest m{o.version,   image->sha256,      image->size.value,  sdi_sha256,
                 image->name, image->description, image->architecture};
      if (auto r = v.WriteManifest(m); !r) return std::unexpected(r.error());
    }
    if (auto r = v.Close(); !r) return std::unexpected(r.error());
    if (auto r = disk->Flush(); !r) return std::unexpected(r.error());
    return "read back; SHA-256 " + image->sha256 + " matches";
  });
  if (!verified) return fail(verified.error());

  auto edited = step("edit-bcd", [&]() -> Result<std::string> {
    auto objects = bcd::PlanEntryEdit(loaded->store, *spec, *moves);
    if (!objects) return std::unexpected(objects.error());
    if (objects->empty()) return std::string("boot entry already points at " + o.version);
    if (auto r = j.SaveBcdBackup(*run, after->disk_id, loaded->bytes); !r)
      return std::unexpected(r.error());
    CrashPoint("apply:edit-bcd:backed-up");
    auto bytes = EditStore(loaded->bytes, *objects);
    if (!bytes) return std::unexpected(bytes.error());
    if (auto r = ReplaceStore(store_file, *bytes, loaded->bytes); !r)
      return std::unexpected(r.error());
    std::string changed;
    for (const auto& object : *objects)
      changed += (changed.empty() ? "" : ", ") + bcd::DisplayName(object.id);
    return "saved " + changed + " in " + report.store;
  });
  if (!edited) return fail(edited.error());

  auto checked = step("verify-bcd", [&]() -> Result<std::string> {
    auto reread = ReadStoreForEdit(store_file);
    if (!reread) return std::unexpected(reread.error());
    if (!bcd::EntryIntact(reread->store, *spec)) {
      if (auto r = store_file.Write(loaded->bytes); !r) return std::unexpected(r.error());
      return Fail(
          ErrorCode::kVerification,
          "Lifeboat's boot entry did not read back as written; the original store was put back");
    }
    return std::string("entry " + loader.Text() + " boots " + WimPath(o.version));
  });
  if (!checked) return fail(checked.error());

  auto removed = step("remove-old", [&]() -> Result<std::string> {
    auto cleanup = RecoveryVolume::Open(o.disk.disk, *after, *lifeboat, true);
    if (!cleanup) return std::unexpected(cleanup.error());
    auto versions = (*cleanup)->Versions();
    if (!versions) return std::unexpected(versions.error());
    std::string gone;
    for (const auto& old : *versions) {
      if (old == o.version) continue;
      if (auto r = (*cleanup)->RemoveVersion(old); !r) return std::unexpected(r.error());
      gone += (gone.empty() ? "" : ", ") + old;
    }
    if (auto r = (*cleanup)->Close(); !r) return std::unexpected(r.error());
    return gone.empty() ? std::string("nothing to remove") : "removed " + gone;
  });
  if (!removed) return fail(removed.error());

  report.result = report.previous_version.empty()        ? "installed"
                  : report.previous_version == o.version ? "repaired"
                                                         : "upgraded";
  auto recorded = step("record", [&]() -> Result<std::string> {
    if (auto r = j.RecordInstall({after->disk_id, o.disk.disk, o.version, image->sha256,
                                  image->size.value, image->name, report.wim_path, report.firmware,
                                  report.link, ""});
        !r)
      return std::unexpected(r.error());
    return "version " + o.version + " recorded in " + o.disk.state_dir + "/journal.db";
  });
  if (!recorded) return fail(recorded.error());
  if (auto r = j.FinishApply(*run, true, report.result, ""); !r) return Report(r.error(), json);
  if (json)
    std::cout << ApplyReportToJson(report) << "\n";
  else
    PrintApply(report);
  return kExitOk;
}

int ReportImageError(const Error& e, bool json) {
  if (json) {
    std::cout << ErrorToJson(e) << "\n";
  } else {
    std::cerr << "lifeboat-agent: " << e.message << "\nNothing was changed.\n";
  }
  return e.code == ErrorCode::kNotFound ? kExitNotFound : kExitBadImage;
}

bcd::Guid LoaderGuid(const std::string& disk_id) { return DerivedGuid(disk_id, "loader"); }
bcd::Guid OptionsGuid(const std::string& disk_id) {
  return DerivedGuid(disk_id, "ramdisk-options");
}

}  // namespace lifeboat::agent
