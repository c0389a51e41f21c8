#include "agent/apply_plan.h"

#include <algorithm>

#include "common/overloaded.h"
#include "common/sha256.h"
#include "common/version.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

bcd::Guid DerivedGuid(const std::string& disk_id, const std::string& role) {
  Sha256 hash;
  std::string seed = "lifeboat:" + role + ":" + disk_id;
  hash.Update({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()});
  auto digest = hash.Digest();
  return bcd::Guid::FromHash(digest);
}

ApplyRefusal Refuse(ApplyRefusalReason reason, std::string message) {
  return {reason, std::move(message), std::nullopt};
}

std::string Description(const image::ImageInfo& image, const std::string& version) {
  std::string name = image.name.empty() ? "recovery image" : image.name;
  return "Lifeboat " + version + " (" + name + ")";
}

std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Lifeboat's partition as it will be once the partition plan has run: the one there, or the one
// the plan creates (its GUID is chosen by the planner).
std::optional<Partition> FinalPartition(const DiskModel& disk, const Plan& plan) {
  for (const auto& step : plan.steps) {
    if (const auto* create = std::get_if<CreatePartitionStep>(&step)) {
      Partition p;
      p.start = create->start;
      p.size = create->size;
      p.uuid = create->uuid;
      p.type = create->type;
      p.role = Role::kLifeboat;
      return p;
    }
  }
  if (const Partition* existing = disk.WithRole(Role::kLifeboat)) return *existing;
  return std::nullopt;
}

// On MBR disks the store names partitions by byte offset: every partition a prepare run moves
// (earlier finished runs and this one) is followed by Windows' entries. Retargeting is
// idempotent (an entry already at the new offset no longer matches the old one), so all runs can
// be replayed.
std::vector<bcd::PartitionMove> Moves(const ApplyInputs& in, const Plan& plan,
                                      const bcd::PartitionRef& lifeboat) {
  std::vector<bcd::PartitionMove> moves;
  if (in.disk.label != LabelKind::kMbr) return moves;
  std::vector<const Plan*> plans;
  for (const auto& done : in.completed_prepares) plans.push_back(&done);
  plans.push_back(&plan);
  for (const Plan* p : plans) {
    for (const auto& step : p->steps) {
      if (const auto* move = std::get_if<MovePartitionStep>(&step)) {
        bcd::PartitionMove m;
        m.from.gpt = false;
        m.from.signature = lifeboat.signature;
        m.from.offset = ToBytes(move->from, p->sector_size).value;
        m.to_offset = ToBytes(move->to, p->sector_size).value;
        moves.push_back(m);
      }
    }
  }
  return moves;
}

}  // namespace

bcd::Guid LoaderGuid(const std::string& disk_id) { return DerivedGuid(disk_id, "loader"); }
bcd::Guid OptionsGuid(const std::string& disk_id) {
  return DerivedGuid(disk_id, "ramdisk-options");
}

Bytes RoomNeeded(const ApplyRequest& request) {
  return Bytes{request.image.size.value + request.sdi_size.value + 16 * kMiB.value};
}

const char* ApplyStepName(const ApplyStep& step) {
  return std::visit(Overloaded{
                        [](const PreparePartitionStep&) { return "prepare-partition"; },
                        [](const WriteImageStep&) { return "write-image"; },
                        [](const VerifyImageStep&) { return "verify-image"; },
                        [](const EditBcdStep&) { return "edit-bcd"; },
                        [](const VerifyBcdStep&) { return "verify-bcd"; },
                        [](const RemoveOldStep&) { return "remove-old"; },
                        [](const RecordStep&) { return "record"; },
                    },
                    step);
}

std::string DescribeApplyStep(const ApplyStep& step) {
  return std::visit(
      Overloaded{
          [](const PreparePartitionStep& s) -> std::string {
            if (s.plan.NothingToDo()) {
              return "use Lifeboat's partition at sector " +
                     std::to_string(s.plan.recovery_start.value) + " (" +
                     HumanSize(ToBytes(s.plan.recovery_size, s.plan.sector_size)) + ") as it is";
            }
            std::string text =
                std::string(s.resume_run ? "resume" : "run") + " the partition plan:";
            for (const auto& p : s.plan.steps)
              text += " " + DescribeStep(p, s.plan.sector_size) + ";";
            text.pop_back();
            return text;
          },
          [](const WriteImageStep& s) -> std::string {
            if (s.already_written)
              return s.wim_path + " already holds this image (read back, SHA-256 matches)";
            std::string text;
            if (!s.remove_first.empty())
              text = "remove " + List(s.remove_first) + " (booted by no entry) to make room, then ";
            return text + "write " + HumanSize(s.size) + " to " + s.wim_path +
                   " and boot.sdi beside it on Lifeboat's partition";
          },
          [](const VerifyImageStep& s) -> std::string {
            return "read both back and compare SHA-256 (" + s.sha256 + ")" +
                   (s.write_manifest
                        ? ", then write the manifest that makes " + s.version + " bootable"
                        : std::string());
          },
          [](const EditBcdStep& s) -> std::string {
            if (s.objects.empty()) return "the boot entry in " + s.store + " is already right";
            std::vector<std::string> names;
            for (const auto& o : s.objects) names.push_back(bcd::DisplayName(o.id));
            return "back up the BCD store " + s.store + " into the journal, then save " +
                   List(names) + " in it";
          },
          [](const VerifyBcdStep& s) -> std::string {
            return "read the store back: entry " + s.spec.loader.Text() + " boots " +
                   s.spec.wim_path + ", linked from the " + bcd::LinkPolicyName(s.spec.link);
          },
          [](const RemoveOldStep& s) -> std::string {
            return s.versions.empty() ? std::string("no older version to remove")
                                      : "remove version " + List(s.versions);
          },
          [](const RecordStep&) -> std::string {
            return "record the installed version in the journal";
          },
      },
      step);
}

const char* ApplyResultName(ApplyResult result) {
  switch (result) {
    case ApplyResult::kInstalled:
      return "installed";
    case ApplyResult::kUpgraded:
      return "upgraded";
    case ApplyResult::kDowngraded:
      return "downgraded";
    case ApplyResult::kRepaired:
      return "repaired";
    case ApplyResult::kUnchanged:
      return "unchanged";
  }
  return "installed";
}

const Plan* ApplyPlan::PartitionPlan() const {
  for (const auto& step : steps)
    if (const auto* prepare = std::get_if<PreparePartitionStep>(&step)) return &prepare->plan;
  return nullptr;
}

std::string ApplyRefusalName(const ApplyRefusal& r) {
  switch (r.reason) {
    case ApplyRefusalReason::kPartition:
      return r.partition_refusal ? RefusalName(r.partition_refusal->reason) : "partition";
    case ApplyRefusalReason::kImageUnsuitable:
      return "image-unsuitable";
    case ApplyRefusalReason::kBootStoreUnusable:
      return "boot-store-unusable";
    case ApplyRefusalReason::kVersionConflict:
      return "version-conflict";
    case ApplyRefusalReason::kNoRoom:
      return "no-room";
  }
  return "refused";
}

std::variant<ApplyPlan, ApplyRefusal> PlanApply(const ApplyInputs& in, const ApplyRequest& req) {
  const std::string& version = req.version.str();
  const DiskModel& disk = in.disk;
  ApplyPlan plan;
  plan.disk = disk.path;
  plan.disk_id = disk.disk_id;
  plan.version = version;
  plan.image_sha256 = req.image.sha256;
  plan.firmware = in.boot.location.firmware;
  plan.store = in.boot.location.Describe();
  plan.link = req.link;
  plan.loader = LoaderGuid(disk.disk_id);
  plan.wim_path = WimPath(version);

  const std::string winload = req.image.WinloadFor(plan.firmware);
  if (winload.empty()) {
    const bool uefi = plan.firmware == image::Firmware::kUefi;
    return Refuse(ApplyRefusalReason::kImageUnsuitable,
                  req.image.path + " has no " + (uefi ? "winload.efi" : "winload.exe") +
                      ", which this " + image::FirmwareName(plan.firmware) +
                      " machine's boot manager needs");
  }
  if (!in.boot.store) {
    return Refuse(ApplyRefusalReason::kBootStoreUnusable,
                  in.boot.problem ? in.boot.problem->message
                                  : "the BCD store " + plan.store + " cannot be read");
  }
  const bcd::Store& store = *in.boot.store;
  const bcd::Guid options = OptionsGuid(disk.disk_id);
  if (auto entry = bcd::FindEntry(store, plan.loader, options); entry && entry->device)
    plan.previous_version = VersionOfWimPath(entry->device->path);

  auto spec_for = [&](const Partition& p) -> Result<bcd::EntrySpec> {
    auto ref = PartitionRefFor(disk, p);
    LIFEBOAT_TRY(ref);
    return bcd::EntrySpec{plan.loader,
                          options,
                          *ref,
                          WimPath(version),
                          SdiPath(version),
                          winload,
                          Description(req.image, version),
                          req.link};
  };

  const Partition* existing = disk.WithRole(Role::kLifeboat);
  const RecoveryVolumeState* volume =
      existing && !in.unfinished_prepare && in.volume ? &*in.volume : nullptr;
  const bool written = volume && volume->target_manifest &&
                       volume->target_manifest->sha256 == req.image.sha256 &&
                       volume->target_wim_sha256 == req.image.sha256;
  if (volume && volume->target_manifest && volume->target_manifest->sha256 != req.image.sha256) {
    return Refuse(ApplyRefusalReason::kVersionConflict,
                  "version " + version + " is already on " + disk.path +
                      " with a different image (SHA-256 " + volume->target_manifest->sha256 +
                      ", this one " + req.image.sha256 + "); give the new image a new version");
  }

  // Already there? Same version, same bytes, entry intact, nothing else left: unchanged.
  if (volume) {
    plan.partition_number = existing->number;
    auto spec = spec_for(*existing);
    if (!spec) return Refuse(ApplyRefusalReason::kBootStoreUnusable, spec.error().message);
    // (Not `versions == std::vector<std::string>{version}`: GCC 12 reports a false
    // -Wfree-nonheap-object for that temporary when it is inlined here.)
    if (written && volume->versions.size() == 1 && volume->versions.front() == version &&
        bcd::EntryIntact(store, *spec)) {
      plan.result = ApplyResult::kUnchanged;
      plan.steps.push_back(RecordStep{});
      return plan;
    }
  }

  // Every path from here changes the boot configuration (at least the entry's WIM path).
  if (auto refusal = partition::BitLockerProtectionRefusal(disk))
    return ApplyRefusal{ApplyRefusalReason::kPartition, refusal->message, *refusal};

  // The partition: an unfinished run is resumed from its saved plan (the disk is between two
  // layouts); otherwise an existing partition is used as it is unless a size is asked for.
  PreparePartitionStep prepare;
  if (in.unfinished_prepare) {
    prepare = {in.unfinished_prepare->plan, in.unfinished_prepare->run};
  } else {
    PlanPolicy policy = req.partition_policy;
    if (!policy.image_size) policy.image_size = req.image.size;
    if (existing && !req.size_given) {
      // Whether the image fits is decided by the free space inside it (below). One too small to
      // hold even this image alone is refused as too small (lifeboat-too-small).
      policy.recovery_size = std::max(ToBytes(existing->size, disk.sector_size),
                                      MinimumRecoverySize(policy.image_size));
    }
    auto made = MakePlan(disk, policy);
    if (!made)
      return ApplyRefusal{ApplyRefusalReason::kPartition, made.error().message, made.error()};
    prepare = {*made, 0};
  }
  auto lifeboat = FinalPartition(disk, prepare.plan);
  if (!lifeboat) {
    return Refuse(ApplyRefusalReason::kPartition,
                  "the partition plan for " + disk.path + " gives Lifeboat no partition");
  }
  if (disk.label == LabelKind::kGpt && lifeboat->uuid.empty()) {
    // Only a run journalled by an agent from before the planner chose the GUID.
    return Refuse(ApplyRefusalReason::kPartition,
                  "the unfinished partition run " + std::to_string(prepare.resume_run) + " on " +
                      disk.path +
                      " was planned without the GUID of Lifeboat's partition, which the boot "
                      "entry must name; finish it with `lifeboat-agent disk prepare " +
                      disk.path + "`, then run apply again");
  }
  auto spec = spec_for(*lifeboat);
  if (!spec) return Refuse(ApplyRefusalReason::kBootStoreUnusable, spec.error().message);
  const auto moves = Moves(in, prepare.plan, spec->partition);
  plan.steps.push_back(prepare);

  WriteImageStep write{version, WimPath(version), req.image.size, {}, written};
  std::vector<std::string> remaining = volume ? volume->versions : std::vector<std::string>{};
  if (volume && !written) {
    const Bytes needed = RoomNeeded(req);
    Bytes free = volume->free_space;
    if (free < needed) {
      // Leftovers of versions no entry boots (an interrupted write, an old upgrade) go first.
      for (const auto& old : volume->versions) {
        if (old == plan.previous_version) continue;
        write.remove_first.push_back(old);
        auto size = volume->version_sizes.find(old);
        if (size != volume->version_sizes.end()) free = free + size->second;
      }
      std::erase_if(remaining, [&](const std::string& v) {
        return std::find(write.remove_first.begin(), write.remove_first.end(), v) !=
               write.remove_first.end();
      });
    }
    if (free < needed) {
      return Refuse(ApplyRefusalReason::kNoRoom,
                    "Lifeboat's partition " + std::to_string(existing->number) + " on " +
                        disk.path + " has " + HumanSize(free) + " free and the image needs " +
                        HumanSize(needed) +
                        (plan.previous_version.empty()
                             ? std::string()
                             : " beside the installed version " + plan.previous_version +
                                   ", which stays until a new one is verified") +
                        "; give apply a larger --size, or remove the partition first");
    }
  }
  plan.steps.push_back(write);
  plan.steps.push_back(VerifyImageStep{version, req.image.sha256, req.sdi_sha256, !written});

  auto objects = bcd::PlanEntryEdit(store, *spec, moves);
  if (!objects) return Refuse(ApplyRefusalReason::kBootStoreUnusable, objects.error().message);
  plan.steps.push_back(EditBcdStep{plan.store, in.boot.sha256, *objects, *spec, moves});
  plan.steps.push_back(VerifyBcdStep{*spec});

  std::erase(remaining, version);
  plan.steps.push_back(RemoveOldStep{remaining});
  plan.steps.push_back(RecordStep{});
  plan.result = plan.previous_version.empty()                         ? ApplyResult::kInstalled
                : plan.previous_version == version                    ? ApplyResult::kRepaired
                : CompareVersions(version, plan.previous_version) < 0 ? ApplyResult::kDowngraded
                                                                      : ApplyResult::kUpgraded;
  return plan;
}

}  // namespace lifeboat::agent
