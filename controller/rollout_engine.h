// The rollout engine: decides, from a rollout's spec and the state of its machines, which waves
// are open, whether the rollout halts or is complete, and whether a machine that calls in gets an
// assignment. Pure: no I/O, no clock (the caller passes `now`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rollout_job.h"

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

// A rollout halts when more than this share of a wave failed, unless told otherwise: a fleet where
// every machine fails must not end up reading "completed".
inline constexpr uint32_t kDefaultFailureThresholdPercent = 10;
// How long a targeted machine that is offline may keep its wave waiting before it is skipped: a
// day, so that a laptop switched off for the night still gets its turn first.
inline constexpr std::chrono::seconds kDefaultMachineDeadline{24 * 3600};

// The largest WinRE a winre-grow rollout may ask for: Windows' own is under 2 GiB; a size past
// this is a slip of the unit, and would fail on every machine.
inline constexpr uint64_t kMaxWinReJobBytes = 32ull << 30;

struct RolloutSpec {
  std::string image_version;  // the image to install; empty for any other job
  Selector selector;
  std::vector<WaveSpec> waves;  // empty: one wave of 100 %
  std::chrono::seconds wait_between_waves{0};
  uint32_t max_in_progress = 0;                                          // 0: no cap
  uint32_t failure_threshold_percent = kDefaultFailureThresholdPercent;  // per wave; 0: never halt
  uint32_t max_retries = 0;  // further attempts after a failure
  // After its wave has been open this long, a machine not yet started that is offline is skipped
  // (it stops holding up the waves; it is still served if it comes back). 0: never skip.
  std::chrono::seconds machine_deadline = kDefaultMachineDeadline;
  // Agents install only signed images; a rollout of an unsigned one needs this said explicitly.
  bool allow_unsigned = false;
  // What each machine does: install image_version, grow WinRE, or remove Lifeboat.
  RolloutJob job{};
};

// kCompletedWithFailures: every machine finished, and some failed for good. Never plain success.
enum class RolloutState { kActive, kPaused, kHalted, kCompleted, kAborted, kCompletedWithFailures };
const char* RolloutStateName(RolloutState state);
// Completed, aborted or completed with failures: nothing changes it any more.
inline bool Finished(RolloutState s) {
  return s == RolloutState::kCompleted || s == RolloutState::kAborted ||
         s == RolloutState::kCompletedWithFailures;
}
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
  bool skipped = false;                  // offline past the deadline; no longer holds up its wave
  std::optional<TimePoint> last_seen;    // the machine's last contact
};

// Errors: kInvalidArgument naming the field (image_version, job, selector, waves, ...).
[[nodiscard]] Result<void> ValidateSpec(const RolloutSpec& spec);

// Where each wave ends (cumulative machine counts, the last one == targeted). Waves that would
// be empty for a small fleet collapse into the next.
std::vector<uint32_t> WaveEnds(const std::vector<WaveSpec>& waves, uint32_t targeted);

// What the engine needs besides the spec and the members.
struct EvaluationContext {
  TimePoint now;
  std::optional<TimePoint> created_at;    // when the first wave opened
  std::chrono::seconds offline_after{0};  // silent this long: offline (0: nobody is offline)
  uint32_t accepted_failures = 0;         // final failures an operator resumed the rollout with
};

struct Evaluation {
  uint32_t open_wave = 0;  // members of waves 0..open_wave may be assigned
  uint32_t in_progress = 0;
  uint32_t pending = 0;  // not started (skipped ones not counted)
  uint32_t succeeded = 0;
  uint32_t failed = 0;   // failed with no retry left
  uint32_t skipped = 0;  // skipped and not started since
  // Members to mark skipped now: not started, offline, their wave open past the deadline.
  std::vector<std::string> to_skip;
  bool halt = false;  // a wave crossed the failure threshold
  std::string halt_reason;
  bool completed = false;
  std::optional<TimePoint> next_wave_at;  // when the next wave opens, if it waits
};

// How a member counts in its rollout's progress: a failure with retries left is pending again,
// and a skipped machine counts as skipped until it starts.
enum class MemberOutcome { kPending, kInProgress, kSucceeded, kFailed, kSkipped };
MemberOutcome OutcomeOf(const RolloutSpec& spec, const Member& member);

// A rollout's members counted wave by wave, as Evaluate needs them: kept up to date one member at
// a time (Count), so that a rollout of any size is evaluated without visiting its members.
struct WaveTally {
  uint32_t outcomes[5] = {};             // by MemberOutcome
  uint32_t not_done = 0;                 // members still holding the wave open
  uint32_t skipped = 0;                  // members marked skipped (whatever their outcome)
  std::optional<TimePoint> last_finish;  // only grows: a member's finished_at never goes back
  [[nodiscard]] uint32_t Of(MemberOutcome o) const { return outcomes[static_cast<int>(o)]; }
  bool operator==(const WaveTally&) const = default;
};
using RolloutTally = std::vector<WaveTally>;  // one per wave

// The wave (index into wave_ends) a position belongs to; wave_ends.size() when past the last.
uint32_t WaveOf(const std::vector<uint32_t>& wave_ends, uint32_t position);
// Adds (`sign` +1) or takes away (-1) one member's counts: a change to a member is Count(old, -1)
// then Count(new, +1).
void Count(RolloutTally& tally, const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
           const Member& member, int sign);
RolloutTally TallyMembers(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                          const std::vector<Member>& members);

// Visits the members at positions [begin, end), in order. Evaluate calls it only for an open wave
// whose machine deadline has passed with machines unfinished, to find those to skip.
using MemberVisitor = std::function<void(uint32_t begin, uint32_t end,
                                         const std::function<void(const Member&)>& visit)>;

// Evaluates from a tally: O(waves), plus the deadline's visit of one wave when `visit` is given
// (without it, no machine is found to skip this time). A wave halts the rollout when more than
// the threshold of it failed for good and there is a failure beyond those accepted at a resume.
Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                    const RolloutTally& tally, const MemberVisitor& visit,
                    const EvaluationContext& context);
// The same from the members themselves, sorted by position. Pure.
Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                    const std::vector<Member>& members, const EvaluationContext& context);
inline Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                           const std::vector<Member>& members, TimePoint now) {
  return Evaluate(spec, wave_ends, members, EvaluationContext{now, std::nullopt, {}, 0});
}

// Whether a machine last seen at `last_seen` is offline at `now`.
bool IsOffline(std::optional<TimePoint> last_seen, TimePoint now, std::chrono::seconds after);

// Whether `member` should get an attempt now, given the evaluation of its rollout.
bool ShouldAssign(const RolloutSpec& spec, RolloutState state,
                  const std::vector<uint32_t>& wave_ends, const Evaluation& evaluation,
                  const Member& member);

// Whether a failed member may be tried again.
bool CanRetry(const RolloutSpec& spec, const Member& member);

}  // namespace lifeboat::controller
