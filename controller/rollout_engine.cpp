#include "controller/rollout_engine.h"

#include <algorithm>

#include "common/enum_table.h"
#include "common/version.h"

namespace lifeboat::controller {

namespace {

bool FinalFailure(const RolloutSpec& spec, const Member& m) {
  return m.state == MemberState::kFailed && !CanRetry(spec, m);
}

bool NotStarted(const RolloutSpec& spec, const Member& m) {
  return m.state == MemberState::kPending || (m.state == MemberState::kFailed && CanRetry(spec, m));
}

// Done for the purpose of opening the next wave. A skipped machine that came back and is being
// served does not close its wave again: the later waves stay open.
bool Done(const RolloutSpec& spec, const Member& m) {
  return m.state == MemberState::kSucceeded || FinalFailure(spec, m) || m.skipped;
}

}  // namespace

namespace {

// The words the fleet store keeps (and metrics and messages show).
constexpr auto kRolloutStateWords = MakeEnumTable<RolloutState, const char*>({
    {RolloutState::kActive, "active"},
    {RolloutState::kPaused, "paused"},
    {RolloutState::kHalted, "halted"},
    {RolloutState::kCompleted, "completed"},
    {RolloutState::kAborted, "aborted"},
    {RolloutState::kCompletedWithFailures, "completed-with-failures"},
});

constexpr auto kMemberStateWords = MakeEnumTable<MemberState, const char*>({
    {MemberState::kPending, "pending"},
    {MemberState::kAssigned, "assigned"},
    {MemberState::kRunning, "running"},
    {MemberState::kSucceeded, "succeeded"},
    {MemberState::kFailed, "failed"},
});

}  // namespace

const char* RolloutStateName(RolloutState state) {
  return kRolloutStateWords.To(state).value_or("?");
}

std::optional<RolloutState> ParseRolloutState(const std::string& name) {
  return kRolloutStateWords.From(name.c_str());
}

const char* MemberStateName(MemberState state) { return kMemberStateWords.To(state).value_or("?"); }

std::optional<MemberState> ParseMemberState(const std::string& name) {
  return kMemberStateWords.From(name.c_str());
}

namespace {

Result<void> ValidateJob(const RolloutSpec& spec) {
  const RolloutJob& job = spec.job;
  if (job.kind == JobKind::kInstall) {
    LIFEBOAT_TRY(Version::Parse(spec.image_version, "image_version"));
    return {};
  }
  const std::string kind = JobKindName(job.kind);
  if (!spec.image_version.empty())
    return BadInput("image_version",
                    "image_version: a " + kind + " rollout installs no image; leave it empty");
  if (spec.allow_unsigned)
    return BadInput("allow_unsigned",
                    "allow_unsigned: a " + kind + " rollout installs no image to be signed");
  if (job.kind == JobKind::kWinReGrow) {
    if ((job.winre_free_bytes == 0) == (job.winre_size_bytes == 0))
      return BadInput("job.winre_grow",
                      "job.winre_grow: give exactly one of free_bytes (the free space WinRE "
                      "should have, 250MB for Windows' WinRE update) or size_bytes");
    if (std::max(job.winre_free_bytes, job.winre_size_bytes) > kMaxWinReJobBytes)
      return BadInput("job.winre_grow",
                      "job.winre_grow: " +
                          std::to_string(std::max(job.winre_free_bytes, job.winre_size_bytes)) +
                          " bytes is past the 32 GiB a WinRE partition could sensibly need");
    if (job.reclaim != "none")
      return BadInput("job.remove", "job.remove: only a remove rollout reclaims room");
    return {};
  }
  if (job.winre_free_bytes || job.winre_size_bytes)
    return BadInput("job.winre_grow", "job.winre_grow: only a winre-grow rollout grows WinRE");
  if (job.reclaim != "none" && job.reclaim != "windows" && job.reclaim != "winre")
    return BadInput("job.remove.reclaim",
                    "job.remove.reclaim: '" + job.reclaim + "' is not none, windows or winre");
  return {};
}

}  // namespace

Result<void> ValidateSpec(const RolloutSpec& spec) {
  LIFEBOAT_TRY(ValidateJob(spec));
  const Selector& s = spec.selector;
  int kinds = (s.all ? 1 : 0) + (s.labels.empty() ? 0 : 1) + (s.machine_ids.empty() ? 0 : 1);
  if (kinds != 1) {
    return BadInput("selector", "selector: give exactly one of all, labels or machine_ids");
  }
  for (const auto& [key, value] : s.labels) {
    if (key.empty())
      return BadInput("selector.labels", "selector.labels: a label has an empty key");
  }
  uint32_t last_percent = 0, last_count = 0;
  bool seen_percent = false, seen_count = false;
  for (size_t i = 0; i < spec.waves.size(); ++i) {
    const WaveSpec& w = spec.waves[i];
    const std::string where = "waves[" + std::to_string(i) + "]";
    if (w.percent) {
      if (w.value == 0 || w.value > 100)
        return Fail(ErrorCode::kInvalidArgument,
                    where + ": percent must be 1 to 100, not " + std::to_string(w.value));
      if (w.value <= last_percent)
        return Fail(ErrorCode::kInvalidArgument,
                    where + ": percents must grow (they are cumulative)");
      last_percent = w.value;
      seen_percent = true;
    } else {
      if (w.value == 0)
        return Fail(ErrorCode::kInvalidArgument, where + ": count must be at least 1");
      if (w.value <= last_count)
        return Fail(ErrorCode::kInvalidArgument,
                    where + ": counts must grow (they are cumulative)");
      last_count = w.value;
      seen_count = true;
    }
  }
  if (seen_percent && seen_count) {
    return BadInput("waves", "waves: use percents or counts, not both");
  }
  if (spec.failure_threshold_percent > 100) {
    return BadInput("failure_threshold_percent", "failure_threshold_percent must be 0 to 100");
  }
  return {};
}

std::vector<uint32_t> WaveEnds(const std::vector<WaveSpec>& waves, uint32_t targeted) {
  std::vector<uint32_t> ends;
  for (const auto& w : waves) {
    uint32_t end = w.percent ? static_cast<uint32_t>((uint64_t{targeted} * w.value + 99) / 100)
                             : std::min(w.value, targeted);
    if (end == 0) end = std::min<uint32_t>(1, targeted);
    if (!ends.empty() && end <= ends.back()) continue;  // an empty wave joins the next
    ends.push_back(end);
  }
  if (ends.empty() || ends.back() < targeted) ends.push_back(targeted);
  return ends;
}

bool IsOffline(std::optional<TimePoint> last_seen, TimePoint now, std::chrono::seconds after) {
  return after.count() > 0 && last_seen && now - *last_seen > after;
}

MemberOutcome OutcomeOf(const RolloutSpec& spec, const Member& m) {
  if (m.skipped && NotStarted(spec, m)) return MemberOutcome::kSkipped;
  switch (m.state) {
    case MemberState::kAssigned:
    case MemberState::kRunning:
      return MemberOutcome::kInProgress;
    case MemberState::kSucceeded:
      return MemberOutcome::kSucceeded;
    case MemberState::kFailed:
      return FinalFailure(spec, m) ? MemberOutcome::kFailed : MemberOutcome::kPending;
    case MemberState::kPending:
      break;
  }
  return MemberOutcome::kPending;
}

uint32_t WaveOf(const std::vector<uint32_t>& wave_ends, uint32_t position) {
  // Positions count from 0; a wave holds the positions below its end.
  return static_cast<uint32_t>(std::upper_bound(wave_ends.begin(), wave_ends.end(), position) -
                               wave_ends.begin());
}

void Count(RolloutTally& tally, const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
           const Member& m, int sign) {
  const uint32_t k = WaveOf(wave_ends, m.position);
  if (k >= tally.size()) return;
  WaveTally& w = tally[k];
  const auto add = [sign](uint32_t& n) {
    n = static_cast<uint32_t>(static_cast<int64_t>(n) + sign);
  };
  add(w.outcomes[static_cast<int>(OutcomeOf(spec, m))]);
  if (!Done(spec, m)) add(w.not_done);
  if (m.skipped) add(w.skipped);
  if (sign > 0 && m.finished_at && (!w.last_finish || *m.finished_at > *w.last_finish))
    w.last_finish = m.finished_at;
}

RolloutTally TallyMembers(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                          const std::vector<Member>& members) {
  RolloutTally tally(wave_ends.size());
  for (const Member& m : members) Count(tally, spec, wave_ends, m, +1);
  return tally;
}

Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                    const RolloutTally& tally, const MemberVisitor& visit,
                    const EvaluationContext& context) {
  const TimePoint now = context.now;
  Evaluation e;
  for (const WaveTally& w : tally) {
    e.skipped += w.Of(MemberOutcome::kSkipped);
    e.in_progress += w.Of(MemberOutcome::kInProgress);
    e.succeeded += w.Of(MemberOutcome::kSucceeded);
    e.failed += w.Of(MemberOutcome::kFailed);
    e.pending += w.Of(MemberOutcome::kPending);
  }
  // Open waves one after another: the next opens when every member of the previous ones is done
  // and the wait after the last of them has passed.
  uint32_t start = 0;
  std::optional<TimePoint> opened_at = context.created_at;  // when wave k opened
  for (size_t k = 0; k < wave_ends.size() && k < tally.size(); ++k) {
    e.open_wave = static_cast<uint32_t>(k);
    const uint32_t end = wave_ends[k];
    const WaveTally& w = tally[k];
    const uint32_t wave_failed = w.Of(MemberOutcome::kFailed), wave_size = end - start;
    bool done = w.not_done == 0;
    bool any_skipped = w.skipped > 0;
    const bool past_deadline =
        spec.machine_deadline.count() > 0 && opened_at && now - *opened_at >= spec.machine_deadline;
    if (!done && past_deadline && visit) {
      // A machine that never started and has gone quiet stops holding up its wave.
      uint32_t skippable = 0;
      visit(start, end, [&](const Member& m) {
        if (!Done(spec, m) && NotStarted(spec, m) && m.attempts == 0 &&
            IsOffline(m.last_seen, now, context.offline_after)) {
          e.to_skip.push_back(m.machine_id);
          ++skippable;
        }
      });
      if (skippable > 0) any_skipped = true;
      done = skippable == w.not_done;
    }
    if (spec.failure_threshold_percent > 0 && wave_size > 0 &&
        e.failed > context.accepted_failures &&
        uint64_t{wave_failed} * 100 > uint64_t{spec.failure_threshold_percent} * wave_size) {
      e.halt = true;
      e.halt_reason = "wave " + std::to_string(k + 1) + ": " + std::to_string(wave_failed) +
                      " of " + std::to_string(wave_size) +
                      " machines failed, over the threshold of " +
                      std::to_string(spec.failure_threshold_percent) + "%";
      return e;
    }
    if (!done) return e;
    if (k + 1 == wave_ends.size()) {
      // Skipped machines that came back and are being served are waited for.
      e.completed = e.in_progress == 0;
      return e;
    }
    const std::optional<TimePoint> last_finish = w.last_finish;
    if (spec.wait_between_waves.count() > 0 && last_finish) {
      TimePoint opens = *last_finish + spec.wait_between_waves;
      if (now < opens) {
        e.next_wave_at = opens;
        return e;
      }
    }
    // The next wave opened when this one's last machine finished or was skipped.
    std::optional<TimePoint> next_opened = last_finish;
    if (any_skipped && opened_at) {
      const TimePoint skipped_at = *opened_at + spec.machine_deadline;
      if (!next_opened || *next_opened < skipped_at) next_opened = skipped_at;
    }
    if (next_opened) *next_opened += spec.wait_between_waves;
    if (next_opened && opened_at && *next_opened < *opened_at) next_opened = opened_at;
    opened_at = next_opened ? next_opened : opened_at;
    start = end;
  }
  return e;
}

Evaluation Evaluate(const RolloutSpec& spec, const std::vector<uint32_t>& wave_ends,
                    const std::vector<Member>& members, const EvaluationContext& context) {
  // Members are sorted by position: a visit reads only the wave's.
  auto visit = [&](uint32_t begin, uint32_t end, const std::function<void(const Member&)>& f) {
    auto first = std::lower_bound(members.begin(), members.end(), begin,
                                  [](const Member& m, uint32_t p) { return m.position < p; });
    for (auto it = first; it != members.end() && it->position < end; ++it) f(*it);
  };
  return Evaluate(spec, wave_ends, TallyMembers(spec, wave_ends, members), visit, context);
}

bool CanRetry(const RolloutSpec& spec, const Member& member) {
  return member.attempts <= spec.max_retries;
}

bool ShouldAssign(const RolloutSpec& spec, RolloutState state,
                  const std::vector<uint32_t>& wave_ends, const Evaluation& evaluation,
                  const Member& member) {
  if (state != RolloutState::kActive || evaluation.halt || evaluation.completed) return false;
  if (wave_ends.empty() || member.position >= wave_ends[evaluation.open_wave]) return false;
  bool eligible = member.state == MemberState::kPending ||
                  (member.state == MemberState::kFailed && CanRetry(spec, member));
  if (!eligible) return false;
  // A skipped machine that comes back is served, within the cap, like any other.
  return spec.max_in_progress == 0 || evaluation.in_progress < spec.max_in_progress;
}

}  // namespace lifeboat::controller
