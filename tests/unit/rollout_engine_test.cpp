// The rollout engine, table-driven: waves, caps, thresholds, pause, abort, retries, waits.
#include "controller/rollout_engine.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

namespace lifeboat::controller {
namespace {

using std::chrono::seconds;
const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

std::vector<Member> Fleet(uint32_t n) {
  std::vector<Member> members;
  for (uint32_t i = 0; i < n; ++i)
    members.push_back({"m" + std::to_string(i), i, MemberState::kPending, 0, {}, false, {}});
  return members;
}

WaveSpec Pct(uint32_t v) { return {true, v}; }
WaveSpec Count(uint32_t v) { return {false, v}; }

struct WaveCase {
  std::vector<WaveSpec> waves;
  uint32_t targeted;
  std::vector<uint32_t> ends;
};

TEST(RolloutEngine, WaveEnds) {
  const WaveCase cases[] = {
      {{Pct(1), Pct(10), Pct(50), Pct(100)}, 1000, {10, 100, 500, 1000}},
      {{Pct(1), Pct(10), Pct(50), Pct(100)}, 10, {1, 5, 10}},  // 1 % and 10 % of 10 are both 1
      {{Pct(1), Pct(10), Pct(50), Pct(100)}, 3, {1, 2, 3}},
      {{Pct(50)}, 7, {4, 7}},  // a last wave of the rest
      {{Count(1), Count(5)}, 20, {1, 5, 20}},
      {{Count(10)}, 3, {3}},
      {{}, 5, {5}},
      {{Pct(100)}, 0, {0}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(WaveEnds(c.waves, c.targeted), c.ends) << c.targeted;
  }
}

TEST(RolloutEngine, ValidateSpecNamesTheField) {
  RolloutSpec good{"1.0", {true, {}, {}}, {Pct(10), Pct(100)}};
  EXPECT_TRUE(ValidateSpec(good));
  struct Bad {
    std::function<void(RolloutSpec&)> change;
    std::string field;
  };
  const Bad bad[] = {
      {[](RolloutSpec& s) { s.image_version.clear(); }, "image_version"},
      {[](RolloutSpec& s) { s.selector.all = false; }, "selector"},
      {[](RolloutSpec& s) { s.selector.machine_ids = {"a"}; }, "selector"},
      {[](RolloutSpec& s) {
         s.waves = {Pct(50), Pct(10)};
       },
       "waves[1]"},
      {[](RolloutSpec& s) { s.waves = {Pct(0)}; }, "waves[0]"},
      {[](RolloutSpec& s) { s.waves = {Pct(101)}; }, "waves[0]"},
      {[](RolloutSpec& s) {
         s.waves = {Pct(10), Count(50)};
       },
       "waves"},
      {[](RolloutSpec& s) { s.failure_threshold_percent = 150; }, "failure_threshold_percent"},
  };
  for (const auto& b : bad) {
    RolloutSpec s = good;
    b.change(s);
    auto r = ValidateSpec(s);
    ASSERT_FALSE(r) << b.field;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(b.field), std::string::npos) << r.error().message;
  }
}

// Plays a rollout: every machine that gets an assignment finishes with `outcome(machine)`.
struct Play {
  uint32_t assigned_first_round = 0;
  uint32_t rounds = 0;
  Evaluation last;
};

Play PlayRollout(const RolloutSpec& spec, std::vector<Member>& members,
                 const std::function<bool(const Member&)>& succeeds, int max_rounds = 50) {
  auto ends = WaveEnds(spec.waves, static_cast<uint32_t>(members.size()));
  Play play;
  TimePoint now = kT0;
  for (int round = 0; round < max_rounds; ++round) {
    Evaluation e = Evaluate(spec, ends, members, now);
    play.last = e;
    if (e.completed || e.halt) break;
    uint32_t assigned = 0;
    for (auto& m : members) {
      Evaluation current = Evaluate(spec, ends, members, now);
      if (ShouldAssign(spec, RolloutState::kActive, ends, current, m)) {
        m.state = MemberState::kAssigned;
        ++m.attempts;
        ++assigned;
      }
    }
    if (round == 0) play.assigned_first_round = assigned;
    now += seconds(10);
    for (auto& m : members) {
      if (m.state == MemberState::kAssigned) {
        m.state = succeeds(m) ? MemberState::kSucceeded : MemberState::kFailed;
        m.finished_at = now;
      }
    }
    now += seconds(10);
    ++play.rounds;
  }
  return play;
}

TEST(RolloutEngine, WavesOpenOneAfterAnother) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Pct(1), Pct(10), Pct(50), Pct(100)}};
  auto members = Fleet(200);
  auto play = PlayRollout(spec, members, [](const Member&) { return true; });
  EXPECT_TRUE(play.last.completed);
  EXPECT_EQ(play.assigned_first_round, 2u);  // 1 % of 200
  EXPECT_EQ(play.rounds, 4u);                // one round a wave
  EXPECT_EQ(play.last.succeeded, 200u);
}

TEST(RolloutEngine, CapLimitsMachinesInProgress) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.max_in_progress = 7;
  auto members = Fleet(30);
  auto play = PlayRollout(spec, members, [](const Member&) { return true; });
  EXPECT_EQ(play.assigned_first_round, 7u);
  EXPECT_EQ(play.rounds, 5u);  // ceil(30 / 7)
  EXPECT_TRUE(play.last.completed);
}

TEST(RolloutEngine, FailureThresholdHaltsTheWave) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Pct(10), Pct(100)}};
  spec.failure_threshold_percent = 20;
  auto members = Fleet(100);
  // 3 of the first wave's 10 machines fail: 30 % > 20 %.
  auto play = PlayRollout(spec, members, [](const Member& m) { return m.position >= 3; });
  EXPECT_TRUE(play.last.halt);
  EXPECT_NE(play.last.halt_reason.find("wave 1: 3 of 10"), std::string::npos)
      << play.last.halt_reason;
  uint32_t touched = 0;
  for (const auto& m : members) touched += m.attempts > 0;
  EXPECT_EQ(touched, 10u);  // the second wave never started
}

TEST(RolloutEngine, FailuresUnderTheThresholdComplete) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Pct(10), Pct(100)}};
  spec.failure_threshold_percent = 20;
  auto members = Fleet(100);
  auto play = PlayRollout(spec, members, [](const Member& m) { return m.position % 10 != 0; });
  EXPECT_TRUE(play.last.completed);
  EXPECT_EQ(play.last.failed, 10u);
  EXPECT_EQ(play.last.succeeded, 90u);
}

TEST(RolloutEngine, RetriesAreLimited) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.max_retries = 2;
  spec.failure_threshold_percent = 0;
  auto members = Fleet(4);
  auto play = PlayRollout(spec, members, [](const Member& m) { return m.position != 0; });
  EXPECT_TRUE(play.last.completed);
  EXPECT_EQ(members[0].attempts, 3u);  // the first try and two retries
  EXPECT_EQ(members[0].state, MemberState::kFailed);
  EXPECT_EQ(members[1].attempts, 1u);
}

TEST(RolloutEngine, WaitBetweenWaves) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Count(1), Count(2)}};
  spec.wait_between_waves = seconds(3600);
  auto members = Fleet(2);
  auto ends = WaveEnds(spec.waves, 2);
  members[0].state = MemberState::kSucceeded;
  members[0].finished_at = kT0;
  auto early = Evaluate(spec, ends, members, kT0 + seconds(60));
  EXPECT_EQ(early.open_wave, 0u);
  ASSERT_TRUE(early.next_wave_at);
  EXPECT_EQ(*early.next_wave_at, kT0 + seconds(3600));
  EXPECT_FALSE(ShouldAssign(spec, RolloutState::kActive, ends, early, members[1]));
  auto later = Evaluate(spec, ends, members, kT0 + seconds(3601));
  EXPECT_EQ(later.open_wave, 1u);
  EXPECT_TRUE(ShouldAssign(spec, RolloutState::kActive, ends, later, members[1]));
}

TEST(RolloutEngine, PausedHaltedAbortedAndCompletedAssignNothing) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  auto members = Fleet(3);
  auto ends = WaveEnds(spec.waves, 3);
  auto e = Evaluate(spec, ends, members, kT0);
  EXPECT_TRUE(ShouldAssign(spec, RolloutState::kActive, ends, e, members[0]));
  for (auto state : {RolloutState::kPaused, RolloutState::kHalted, RolloutState::kAborted,
                     RolloutState::kCompleted}) {
    EXPECT_FALSE(ShouldAssign(spec, state, ends, e, members[0])) << RolloutStateName(state);
  }
  members[0].state = MemberState::kRunning;
  EXPECT_FALSE(ShouldAssign(spec, RolloutState::kActive, ends, Evaluate(spec, ends, members, kT0),
                            members[0]));
}

TEST(RolloutEngine, StateNamesRoundTrip) {
  for (auto s :
       {RolloutState::kActive, RolloutState::kPaused, RolloutState::kHalted,
        RolloutState::kCompleted, RolloutState::kAborted, RolloutState::kCompletedWithFailures})
    EXPECT_EQ(ParseRolloutState(RolloutStateName(s)), s);
  for (auto s : {MemberState::kPending, MemberState::kAssigned, MemberState::kRunning,
                 MemberState::kSucceeded, MemberState::kFailed})
    EXPECT_EQ(ParseMemberState(MemberStateName(s)), s);
  EXPECT_FALSE(ParseRolloutState("bogus"));
}

// Issue 12, item 13: one switched-off machine stalled a rollout forever.
TEST(RolloutEngine, AnOfflineMachineIsSkippedPastTheDeadlineAndStopsBlocking) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Count(2), Count(4)}};
  spec.machine_deadline = seconds(3600);
  auto members = Fleet(4);
  auto ends = WaveEnds(spec.waves, 4);
  for (auto& m : members) m.last_seen = kT0;
  // m0 finished; m1 was switched off at kT0 and never started.
  members[0].state = MemberState::kSucceeded;
  members[0].finished_at = kT0 + seconds(60);
  const seconds offline_after(600);
  auto at = [&](seconds t) {
    return Evaluate(spec, ends, members, EvaluationContext{kT0 + t, kT0, offline_after, 0});
  };
  // Before the deadline the wave waits for it, offline or not.
  auto waiting = at(seconds(1800));
  EXPECT_EQ(waiting.open_wave, 0u);
  EXPECT_TRUE(waiting.to_skip.empty());
  // Past the deadline: skipped, and the next wave opens.
  auto past = at(seconds(3600));
  EXPECT_EQ(past.to_skip, std::vector<std::string>{"m1"});
  EXPECT_EQ(past.open_wave, 1u);
  // A machine that is online (it called in recently) is never skipped.
  members[1].last_seen = kT0 + seconds(3500);
  EXPECT_TRUE(at(seconds(3600)).to_skip.empty());
  EXPECT_EQ(at(seconds(3600)).open_wave, 0u);
  // Once skipped it counts as skipped, not pending or failed.
  members[1].last_seen = kT0;
  members[1].skipped = true;
  auto skipped = at(seconds(3700));
  EXPECT_EQ(skipped.skipped, 1u);
  EXPECT_EQ(skipped.failed, 0u);
  EXPECT_EQ(skipped.pending, 2u);
  EXPECT_EQ(skipped.open_wave, 1u);
  // It comes back: it is still served, and its being served does not close its wave again.
  EXPECT_TRUE(ShouldAssign(spec, RolloutState::kActive, ends, skipped, members[1]));
  members[1].state = MemberState::kAssigned;
  members[1].attempts = 1;
  auto back = at(seconds(3800));
  EXPECT_EQ(back.open_wave, 1u);
  EXPECT_EQ(back.in_progress, 1u);
  EXPECT_EQ(back.skipped, 0u);
  // The later wave's deadline runs from when that wave opened, not from the rollout's start.
  members[2].last_seen = kT0;
  members[3].last_seen = kT0;
  EXPECT_TRUE(at(seconds(3700 + 1800)).to_skip.empty());
  EXPECT_EQ(at(seconds(3600 + 3600)).to_skip, (std::vector<std::string>{"m2", "m3"}));
}

TEST(RolloutEngine, ADeadlineOfZeroNeverSkips) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {}};
  spec.machine_deadline = seconds(0);
  auto members = Fleet(2);
  for (auto& m : members) m.last_seen = kT0;
  auto e = Evaluate(spec, WaveEnds(spec.waves, 2), members,
                    EvaluationContext{kT0 + seconds(1000000), kT0, seconds(600), 0});
  EXPECT_TRUE(e.to_skip.empty());
}

TEST(RolloutEngine, AResumedHaltHaltsAgainOnlyForANewFailure) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Count(2), Count(4)}};
  spec.failure_threshold_percent = 40;
  auto members = Fleet(4);
  auto ends = WaveEnds(spec.waves, 4);
  members[0].state = members[1].state = MemberState::kFailed;
  members[0].attempts = members[1].attempts = 1;
  EXPECT_TRUE(Evaluate(spec, ends, members, kT0).halt);
  auto accepted = Evaluate(spec, ends, members, EvaluationContext{kT0, kT0, seconds(0), 2});
  EXPECT_FALSE(accepted.halt);
  EXPECT_EQ(accepted.open_wave, 1u);
  members[2].state = MemberState::kFailed;
  members[2].attempts = 1;
  EXPECT_TRUE(Evaluate(spec, ends, members, EvaluationContext{kT0, kT0, seconds(0), 2}).halt);
}

}  // namespace
}  // namespace lifeboat::controller

namespace lifeboat::controller {
namespace {

// The heartbeat path keeps a tally member by member; it must say what counting every member from
// scratch says, through any sequence of changes, and evaluate the same.
TEST(RolloutEngine, ATallyKeptChangeByChangeMatchesOneCountedFromScratch) {
  RolloutSpec spec{"1.0", {true, {}, {}}, {Pct(1), Pct(10), Pct(50), Pct(100)}};
  spec.max_retries = 1;
  spec.failure_threshold_percent = 0;  // never halt: every wave gets its turn
  spec.machine_deadline = seconds(3600);
  std::vector<Member> members = Fleet(500);
  const auto ends = WaveEnds(spec.waves, 500);
  RolloutTally kept = TallyMembers(spec, ends, members);
  std::mt19937 random(20261203);
  const MemberState states[] = {MemberState::kPending, MemberState::kAssigned,
                                MemberState::kRunning, MemberState::kSucceeded,
                                MemberState::kFailed};
  TimePoint now = kT0;
  for (int step = 0; step < 20000; ++step) {
    Member& m = members[random() % members.size()];
    Count(kept, spec, ends, m, -1);
    m.state = states[random() % 5];
    if (m.state == MemberState::kAssigned) ++m.attempts;
    if (m.state == MemberState::kSucceeded || m.state == MemberState::kFailed) m.finished_at = now;
    if (random() % 50 == 0) m.skipped = !m.skipped;
    m.last_seen = random() % 3 ? now : kT0;
    Count(kept, spec, ends, m, +1);
    now += seconds(1);
    if (step % 997 == 0) {
      ASSERT_EQ(kept, TallyMembers(spec, ends, members)) << "after step " << step;
      const EvaluationContext context{now, kT0, seconds(600), 0};
      auto visit = [&](uint32_t begin, uint32_t end, const std::function<void(const Member&)>& f) {
        for (uint32_t p = begin; p < end; ++p) f(members[p]);
      };
      const Evaluation from_tally = Evaluate(spec, ends, kept, visit, context);
      const Evaluation from_members = Evaluate(spec, ends, members, context);
      EXPECT_EQ(from_tally.open_wave, from_members.open_wave);
      EXPECT_EQ(from_tally.pending, from_members.pending);
      EXPECT_EQ(from_tally.in_progress, from_members.in_progress);
      EXPECT_EQ(from_tally.succeeded, from_members.succeeded);
      EXPECT_EQ(from_tally.failed, from_members.failed);
      EXPECT_EQ(from_tally.skipped, from_members.skipped);
      EXPECT_EQ(from_tally.to_skip, from_members.to_skip);
      EXPECT_EQ(from_tally.completed, from_members.completed);
      EXPECT_EQ(from_tally.next_wave_at, from_members.next_wave_at);
    }
  }
  // A tally without a visit finds nobody to skip, and otherwise agrees.
  const EvaluationContext later{now + seconds(7200), kT0, seconds(600), 0};
  EXPECT_TRUE(Evaluate(spec, ends, kept, nullptr, later).to_skip.empty());
}

}  // namespace
}  // namespace lifeboat::controller
