// What `apply` will do to a disk, decided before anything changes: a pure function of what is
// on the disk (its table, its BCD store, the files on Lifeboat's partition), the image and the
// options. `apply --dry-run` prints the plan, the journal stores it, apply_executor runs it. A
// run that was killed is resumed by planning again from what the disk then holds: every step
// after the partition's is a no-op once done (the partition's own run is resumed from its saved
// plan, given here as `unfinished_prepare`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/boot_store.h"
#include "agent/recovery_volume.h"
#include "bcd/lifeboat_entry.h"
#include "bcd/store.h"
#include "common/error.h"
#include "common/version.h"
#include "image/wim_file.h"
#include "partition/disk_model.h"
#include "partition/plan.h"
#include "partition/planner.h"

namespace lifeboat::agent {

// The disk's BCD store as apply found it.
struct BootStoreState {
  BootStoreLocation location;
  // Unset when the store cannot be edited (missing, unreadable, a transaction Windows has not
  // finished): `problem` says why.
  std::optional<bcd::Store> store;
  std::optional<Error> problem;
  std::string sha256;  // of the store's bytes
};

// The files on an existing Lifeboat partition.
struct RecoveryVolumeState {
  std::vector<std::string> versions;           // version folders, sorted
  std::map<std::string, Bytes> version_sizes;  // bytes each folder holds (boot.wim + boot.sdi)
  std::optional<Manifest> target_manifest;     // of the version being applied
  // SHA-256 of the target version's boot.wim; read only when its manifest names this image.
  std::optional<std::string> target_wim_sha256;
  Bytes free_space;
};

struct ApplyRequest {
  explicit ApplyRequest(Version v) : version(std::move(v)) {}
  Version version;  // checked where it entered (--version)
  image::ImageInfo image;
  Bytes sdi_size;
  std::string sdi_sha256;
  bcd::LinkPolicy link = bcd::LinkPolicy::kToolsMenu;
  partition::PlanPolicy partition_policy;  // from the command line; sizes default from the image
  bool size_given = false;                 // --size: an existing partition is not kept as it is
};

// A partition run the journal holds as unfinished: the disk may be between two layouts.
struct UnfinishedPrepare {
  int64_t run = 0;
  partition::Plan plan;
};

struct ApplyInputs {
  partition::DiskModel disk;  // read and checked by RequireSafeLayout
  BootStoreState boot;
  std::optional<RecoveryVolumeState> volume;  // when Lifeboat's partition exists
  std::optional<UnfinishedPrepare> unfinished_prepare;
  // Plans of the prepare runs that finished on this disk: on MBR disks the store names
  // partitions by byte offset, so Windows' entries follow every partition they moved.
  std::vector<partition::Plan> completed_prepares;
};

// -- The steps, in the order they run. --

// Give the disk its Lifeboat partition (a plan with no steps when it is there already).
struct PreparePartitionStep {
  partition::Plan plan;
  int64_t resume_run = 0;  // the journal run of an earlier apply's plan, continued; 0: a new run
};
// Write boot.wim and boot.sdi into the version's folder, after removing `remove_first` (versions
// no boot entry uses) when the partition needs their room.
struct WriteImageStep {
  std::string version;
  std::string wim_path;
  Bytes size;
  std::vector<std::string> remove_first;
  bool already_written = false;  // the folder holds this image, read back and hashed
};
// Read both files back and compare their hashes; then write the manifest that makes the folder
// bootable.
struct VerifyImageStep {
  std::string version;
  std::string sha256;
  std::string sdi_sha256;
  bool write_manifest = true;
};
// Back the store up into the journal, then save `objects` into it. `store_sha256` is the store
// planned against: one that changed since is not edited.
struct EditBcdStep {
  std::string store;
  std::string store_sha256;
  std::vector<bcd::Object> objects;  // empty: the entry is already right
  // What the objects were made from: a store that changed since is planned against again.
  bcd::EntrySpec spec;
  std::vector<bcd::PartitionMove> moves;
};
// Read the store back and check the entry.
struct VerifyBcdStep {
  bcd::EntrySpec spec;
};
// Remove the versions the boot entry no longer uses.
struct RemoveOldStep {
  std::vector<std::string> versions;
};
// Record the installed version in the journal.
struct RecordStep {};

using ApplyStep = std::variant<PreparePartitionStep, WriteImageStep, VerifyImageStep, EditBcdStep,
                               VerifyBcdStep, RemoveOldStep, RecordStep>;

// "prepare-partition", "write-image", ...: the names the journal and the step events use.
const char* ApplyStepName(const ApplyStep& step);
// One line a person reads.
std::string DescribeApplyStep(const ApplyStep& step);

// What an apply does to the installed version: kDowngraded goes to an older one (CompareVersions).
enum class ApplyResult { kInstalled, kUpgraded, kDowngraded, kRepaired, kUnchanged };
const char* ApplyResultName(ApplyResult result);

struct ApplyPlan {
  std::string disk;
  std::string disk_id;
  std::string version;
  std::string image_sha256;
  std::string previous_version;  // what the boot entry points at now, if anything
  ApplyResult result = ApplyResult::kInstalled;
  image::Firmware firmware = image::Firmware::kUefi;
  std::string store;  // where the BCD store is, for people
  bcd::LinkPolicy link = bcd::LinkPolicy::kToolsMenu;
  bcd::Guid loader;
  std::string wim_path;
  uint32_t partition_number = 0;  // 0: the partition is yet to be created
  std::vector<ApplyStep> steps;

  [[nodiscard]] const partition::Plan* PartitionPlan() const;
};

enum class ApplyRefusalReason {
  kPartition,          // the disk engine refused (partition_refusal says why)
  kImageUnsuitable,    // the image cannot boot on this machine
  kBootStoreUnusable,  // the BCD store is missing, damaged or mid-transaction
  kVersionConflict,    // this version is on the disk with other bytes
  kNoRoom,             // Lifeboat's partition cannot hold the image beside the installed one
};

struct ApplyRefusal {
  ApplyRefusalReason reason;
  std::string message;  // what, where, why, and what a person can do
  std::optional<partition::Refusal> partition_refusal;
};

// "unsafe-partition-table", "not-enough-space", ... for partition refusals; else
// "image-unsuitable", "boot-store-unusable", "version-conflict", "no-room".
std::string ApplyRefusalName(const ApplyRefusal& refusal);
// The GUIDs of Lifeboat's loader and device-options objects for a disk: derived from the disk's
// identity so that they stay the same across upgrades and agent reinstalls.
bcd::Guid LoaderGuid(const std::string& disk_id);
bcd::Guid OptionsGuid(const std::string& disk_id);

// Room the image needs on Lifeboat's partition: boot.wim, boot.sdi and 16 MiB kept free.
Bytes RoomNeeded(const ApplyRequest& request);

[[nodiscard]] std::variant<ApplyPlan, ApplyRefusal> PlanApply(const ApplyInputs& inputs,
                                                              const ApplyRequest& request);

}  // namespace lifeboat::agent
