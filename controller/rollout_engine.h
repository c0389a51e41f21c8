// The rollout engine: decides, from a rollout's spec and the state of its machines, which waves
// are open, whether the rollout halts or is complete, and whether a machine that calls in gets an
// assignment. Pure: no I/O, no clock (the caller passes `now`).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::controller {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// Which machines a rollout targets: all, those carrying every label, or a list.
struct Selector {
  bool all = false;
  std::map<std::string, std::string> labels;
  std::vector<std::string> machine_ids;
};

// A wave ends at a cumulative share (percent) or count of the targeted machines.
struct WaveSpec {
  bool percent = true;
  uint32_t value = 100;
  bool operator==(const WaveSpec&) const = default;
};

struct RolloutSpec {
  std::string image_version;
  Selector selector;
  std::vector<WaveSpec> waves;  // empty: one wave of 100 %
  std::chrono::seconds wait_between_waves{0};
  uint32_t max_in_progress = 0;            // 0: no cap
  uint32_t failure_threshold_percent = 0;  // per wave; 0: never halt
  uint32_t max_retries = 0;                // further attempts after a failure
};

enum class RolloutState { kActive, kPaused, kHalted, kCompleted, kAborted };
const char* RolloutStateName(RolloutState state);
std::optional<RolloutState> ParseRolloutState(const std::string& name);

enum class MemberState { kPending, kAssigned, kRunning, kSucceeded, kFailed };
const char* MemberStateName(MemberState state);
std::optional<MemberState> ParseMemberState(const std::string& name);

// One targeted machine. Position orders machines into waves.
struct Member {
  std::string machine_id;
  uint32_t position = 0;
  MemberState state = MemberState::kPending;
  uint32_t attempts = 0;                 // attempts made so far
  std::optional<TimePoint> finished_at;  // when it last succeeded or failed
};

// Errors: kInvalidArgument naming the field (image_version, selector, waves, ...).
[[nodiscard]] Result<void> ValidateSpec(const RolloutSpec& spec);

// Where each wave ends (cumulative machine counts, the last one == targeted). Waves that would
// be empty for a small fleet collapse into the next.
std::vector<uint32_t> WaveEnds(const std::vector<WaveSpec>& waves, uint32_t targeted);

struct Evaluation {
  uint32_t open_wave = 0;  // members of waves 0..open_wave may be assigned
  uint32_t in_progress = 0;
  uint32_t pending = 0;
  uint32_t succeeded = 0;
  uint32_t failed = 0;  // failed with no retry left
  bool halt = false;    // a wave crossed the failure threshold
  std::string halt_reason;
  bool completed = false;
  std::optional<TimePoint> next_wave_at;  // when the next wave opens, if it waits
};

// `members` sorted by position. Pure.
Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                    const std::vector<Member>& members, TimePoint now);

// Whether `member` should get an attempt now, given the evaluation of its rollout.
bool ShouldAssign(const RolloutSpec& spec, RolloutState state,
                  const std::vector<uint32_t>& wave_ends, const Evaluation& evaluation,
                  const Member& member);

// Whether a failed member may be tried again.
bool CanRetry(const RolloutSpec& spec, const Member& member);

}  // namespace lifeboat::controller
