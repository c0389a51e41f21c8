// What a rollout asks of each machine, as the controller keeps it and the agent carries it out:
// install an image (apply), grow Windows' WinRE partition (`lifeboat-agent winre grow`), or take
// Lifeboat off (`lifeboat-agent remove`). Plain values shared by both sides; the wire form is
// lifeboat.v1.RolloutJob with its options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/enum_table.h"

namespace lifeboat {

enum class JobKind { kInstall, kWinReGrow, kRemove };

// The words in the controller's store, on the command line and in messages.
inline constexpr auto kJobKindWords = MakeEnumTable<JobKind, const char*>({
    {JobKind::kInstall, "install"},
    {JobKind::kWinReGrow, "winre-grow"},
    {JobKind::kRemove, "remove"},
});

inline const char* JobKindName(JobKind kind) { return kJobKindWords.To(kind).value_or("install"); }

inline std::optional<JobKind> ParseJobKind(const std::string& word) {
  return kJobKindWords.From(word.c_str());
}

// A job and its options. An install's image is the rollout's image_version, not kept here.
struct RolloutJob {
  JobKind kind = JobKind::kInstall;
  // kWinReGrow: the free space WinRE's volume should have afterwards, or else the size its
  // partition should have (exactly one is non-zero): `winre grow --free` / `--size`.
  uint64_t winre_free_bytes = 0;
  uint64_t winre_size_bytes = 0;
  // kRemove: who gets Lifeboat's room, in `lifeboat-agent remove --reclaim` words: none (the
  // agent's default), windows, winre.
  std::string reclaim = "none";
  bool operator==(const RolloutJob&) const = default;
};

// "install 2.1", "winre-grow --free 250 MB", "remove --reclaim windows": for people and logs.
std::string DescribeJob(const RolloutJob& job, const std::string& image_version);

}  // namespace lifeboat
