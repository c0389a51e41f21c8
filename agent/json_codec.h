// JSON for configuration-management tools (the shapes are documented in docs/json.md) and for
// the plan stored in the journal. Poco::JSON is used here (and, for the API's messages such as
// the inventory, through proto/api_json.h) and nowhere else in the agent.
#pragma once

#include <string>

#include "agent/recovery_volume.h"
#include "agent/reports.h"
#include "bcd/store.h"
#include "common/error.h"
#include "media/media_job.h"
#include "partition/disk_model.h"
#include "partition/plan.h"
#include "partition/planner.h"
#include "partition/winre.h"

namespace lifeboat::agent {

std::string DiskToJson(const partition::DiskModel& disk);
std::string PlanToJson(const partition::Plan& plan);
// winre show: the summary (partition/winre.h) of `disk` (winre_json.cpp).
std::string WinReSummaryToJson(const partition::DiskModel& disk,
                               const partition::WinReSummary& summary);
// A refusal or an error in the one error shape of docs/json.md: {"error": {"code", "message",
// "field", "reason"}}; a refusal's code is "refused" and its reason the planner's word.
std::string RefusalToJson(const partition::Refusal& refusal);
// GPT attribute bits as the JSON writes them: "0x" and 16 hexadecimal digits.
std::string Hex64(uint64_t value);
// `bcd boot-once --json`: {"disk", "result": "set"|"unchanged", "loader_guid"}.
std::string BootOnceToJson(const std::string& disk, const std::string& result,
                           const std::string& loader_guid);
std::string ErrorToJson(const Error& error);
// A prepare run's outcome: "unchanged", "prepared" or "resumed", with its steps.
// `run`: the journal run that made the change, 0 for none.
std::string PrepareResultToJson(const std::string& result, const partition::Plan& plan,
                                const std::vector<std::string>& steps, int64_t run = 0);

[[nodiscard]] Result<partition::Plan> PlanFromJson(const std::string& json);

std::string ImageInfoToJson(const image::ImageInfo& image);
std::string ApplyReportToJson(const ApplyReport& report);
// `media iso|usb --json`: {"kind", "target", "result", "version", "firmware", "size_bytes",
// "files", "label", "erased", "verified", "image"}.
std::string MediumReportToJson(const media::MediumReport& report);
// An apply plan: its steps typed, as `apply --dry-run --json` shows them and the journal keeps.
std::string ApplyPlanToJson(const ApplyPlan& plan);
std::string ApplyRefusalToJson(const ApplyRefusal& refusal);
std::string StatusReportToJson(const StatusReport& report);
// The shape remove_result (agent/remove_json.cpp).
std::string RemoveReportToJson(const RemoveReport& report);
// Every object and element of a store, decoded (bcd show --json).
std::string StoreToJson(const bcd::Store& store, const std::string& source);

// The manifest kept beside each image version on Lifeboat's partition.
// manifest_json.cpp:
std::string ManifestToJson(const Manifest& manifest);
[[nodiscard]] Result<Manifest> ManifestFromJson(const std::string& json);

}  // namespace lifeboat::agent
