// Fleet: what operators do to a rollout once it runs — pause, resume, abort, roll back. (The rest
// of Fleet is in fleet.cpp.)
#include <set>

#include "controller/fleet.h"

namespace lifeboat::controller {

namespace {

// An operator's change refused because of the state rollout `id` is in; `then` says what to do.
std::unexpected<Error> RefusedIn(uint64_t id, RolloutState state, const std::string& then = "") {
  return Fail(ErrorCode::kConflict,
              "id: rollout " + std::to_string(id) + " is " + RolloutStateName(state) + then);
}

}  // namespace

Result<RolloutView> Fleet::Pause(uint64_t id) {
  auto view = Rollout(id);
  if (!view) return view;
  if (view->rollout.state == RolloutState::kPaused) return view;
  if (Finished(view->rollout.state)) return RefusedIn(id, view->rollout.state);
  LIFEBOAT_TRY(SetState(id, RolloutState::kPaused, "paused by an operator"));
  return Rollout(id);
}

Result<RolloutView> Fleet::Resume(uint64_t id) {
  auto view = Rollout(id);
  if (!view) return view;
  if (view->rollout.state == RolloutState::kActive) return view;
  if (Finished(view->rollout.state))
    return RefusedIn(id, view->rollout.state, " and cannot resume");
  // A halted rollout goes on past the failures it halted for; a new one halts it again.
  if (view->rollout.state == RolloutState::kHalted) {
    LIFEBOAT_TRY(store_.AcceptFailures(id, view->evaluation.failed));
  }
  // Through SetState, which also drops the cached copy: heartbeats read the cache, and a resume
  // written only to the store left the rollout paused there until a restart.
  LIFEBOAT_TRY(SetState(id, RolloutState::kActive, "resumed by an operator"));
  return Rollout(id);
}

Result<RolloutView> Fleet::Abort(uint64_t id) {
  auto view = Rollout(id);
  if (!view) return view;
  if (view->rollout.state == RolloutState::kAborted) return view;
  if (view->rollout.state == RolloutState::kCompleted ||
      view->rollout.state == RolloutState::kCompletedWithFailures)
    return RefusedIn(id, view->rollout.state, "; roll it back instead");
  LIFEBOAT_TRY(SetState(id, RolloutState::kAborted, "aborted by an operator"));
  return Rollout(id);
}

Result<RolloutView> Fleet::Rollback(uint64_t id) {
  auto view = Rollout(id);
  if (!view) return view;
  // A grown WinRE is not shrunk again by a rollout (its partition holds Windows' recovery files);
  // each machine's `lifeboat-agent disk restore --run N` puts its table back where that is safe.
  if (view->rollout.spec.job.kind == JobKind::kWinReGrow)
    return Fail(ErrorCode::kConflict,
                "id: rollout " + std::to_string(id) +
                    " grew WinRE, which no rollout undoes; `lifeboat-agent disk restore DISK "
                    "--run N` on a machine gives back its table (N: the run its attempt's "
                    "events name)");
  // A remove is rolled back by installing again the version each machine had.
  auto members = store_.Members(id);
  LIFEBOAT_TRY(members);
  std::set<std::string> previous;
  std::vector<std::string> changed;
  for (const auto& m : *members) {
    if (m.member.state != MemberState::kSucceeded || m.previous_version.empty() ||
        m.previous_version == view->rollout.spec.image_version)
      continue;
    previous.insert(m.previous_version);
    changed.push_back(m.member.machine_id);
  }
  if (changed.empty()) {
    return Fail(ErrorCode::kConflict,
                "id: rollout " + std::to_string(id) +
                    " changed no machine from an earlier version; nothing to roll back");
  }
  if (previous.size() > 1) {
    std::string versions;
    for (const auto& v : previous) versions += (versions.empty() ? "" : ", ") + v;
    return Fail(ErrorCode::kConflict, "id: the machines of rollout " + std::to_string(id) +
                                          " came from different versions (" + versions +
                                          "); roll them back with one rollout per version");
  }
  if (!Finished(view->rollout.state)) {
    LIFEBOAT_TRY(SetState(id, RolloutState::kAborted, "rolled back"));
  }
  RolloutSpec spec = view->rollout.spec;
  spec.job = RolloutJob{};
  spec.image_version = *previous.begin();
  spec.selector = Selector{};
  spec.selector.machine_ids = changed;
  return CreateRollout(spec, id);
}

}  // namespace lifeboat::controller
