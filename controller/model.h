// What the controller keeps: plain values the store reads and writes and the services translate
// to and from protobuf. Times are RFC 3339 text in UTC ("2026-11-21T22:18:20.123Z").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/enum_table.h"
#include "common/image_manifest.h"
#include "common/step_event.h"
#include "controller/rollout_engine.h"

namespace lifeboat::controller {

// RFC 3339 text as the store writes it ("2026-11-21T22:18:20.123Z") as a time point; nothing for
// empty or malformed text.
std::optional<TimePoint> ParseTime(const std::string& text);
std::string FormatTime(TimePoint time);

// What an operator may do; each role includes the ones before it.
enum class Role { kViewer, kOperator, kAdmin };
const char* RoleName(Role role);
std::optional<Role> ParseRole(const std::string& name);

// An operator: a name, a role, and the SHA-256 of the bearer token they present (the token itself
// is shown once, when the operator is made, and never stored).
struct OperatorRecord {
  std::string name;
  Role role = Role::kViewer;
  std::string token_sha256;
  std::string created_at;
};

// An enrollment token as the controller keeps it: never the token itself, only its hash, whose
// first 12 hex digits name it. A site's key is a token with several uses.
struct EnrollmentTokenRecord {
  std::string id;
  std::string labels;      // k=v lines, given to every machine that enrolls with it
  int64_t expires_at = 0;  // seconds since the epoch
  std::string created_by;
  std::string created_at;
  uint32_t max_uses = 1;
  uint32_t uses = 0;
  std::string last_used_by;
  std::string last_used_at;
  std::string revoked_at;  // empty while it works
};

// One entry of the audit log: a change made (or refused) through AdminService.
struct AuditRecord {
  uint64_t id = 0;
  std::string at;       // RFC 3339, UTC
  std::string who;      // the operator, or "" when no known token was shown
  std::string action;   // the AdminService method: PublishImage, CreateRollout, ...
  std::string target;   // what it was about: "rollout 3", "machine pc-0042", a version
  std::string outcome;  // ok, denied, failed
  std::string detail;   // the refusal's or failure's message
  std::string peer;     // where the call came from, as gRPC names it (ipv4:10.0.0.5:53412)
};

// A signature offered at publish, with the public key to check it against.
struct SignedBy {
  ImageSignature signature;
  std::string public_key;  // PEM
};

// A published image: its identity (version, SHA-256, size, name, description, architecture; the
// one type agents and the catalog share) and what the catalog knows besides.
struct ImageRecord : ImageManifest {
  uint32_t boot_index = 0;
  uint64_t file_count = 0;
  bool has_winload_efi = false;
  bool has_winload_exe = false;
  bool has_boot_sdi = false;
  std::string blob_path;  // where the bytes are, content-addressed by sha256
  std::string published_at;
  bool retired = false;
  ImageSignature signature;    // common/image_manifest.h; an empty manifest: unsigned
  std::string build_manifest;  // \Lifeboat\build.json of a built image, or empty
};

// What an agent says it is doing, with every heartbeat. Held as this enum; its word ("idle", ...)
// is written only in the store and JSON, and read back from the store by ParseAgentState.
enum class AgentState { kIdle, kDownloading, kApplying, kFailed };

inline constexpr auto kAgentStateWords = MakeEnumTable<AgentState, const char*>({
    {AgentState::kIdle, "idle"},
    {AgentState::kDownloading, "downloading"},
    {AgentState::kApplying, "applying"},
    {AgentState::kFailed, "failed"},
});

inline const char* AgentStateName(AgentState state) {
  return kAgentStateWords.To(state).value_or("idle");
}

inline std::optional<AgentState> ParseAgentState(const std::string& name) {
  return kAgentStateWords.From(name.c_str());
}

struct MachineRecord {
  std::string id;
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::string inventory;  // opaque to the store: the edge's serialized inventory
  std::string installed_version;
  AgentState state = AgentState::kIdle;
  std::string current_step;
  std::string last_seen;
  std::string registered_at;
  bool boot_recovery_pending = false;
  bool offline = false;  // filled by Fleet: silent longer than its offline_after
};

struct RolloutRecord {
  uint64_t id = 0;
  RolloutSpec spec;
  RolloutState state = RolloutState::kActive;
  std::string message;
  std::string created_at;
  uint64_t rollback_of = 0;
  std::vector<uint32_t> wave_ends;
  uint32_t accepted_failures = 0;  // final failures an operator resumed a halt with
};

struct MemberRecord {
  Member member;
  std::string previous_version;  // what the machine had when the rollout first assigned it
  uint64_t last_attempt_id = 0;
};

struct AttemptRecord {
  uint64_t id = 0;
  uint64_t rollout_id = 0;
  std::string machine_id;
  std::string image_version;  // '' for a job without an image
  JobKind job = JobKind::kInstall;
  MemberState state = MemberState::kAssigned;  // as its member's (never kPending)
  std::string started_at;
  std::string finished_at;
  std::string error;
  std::vector<StepEvent> events;
};

struct FleetSummary {
  uint32_t machines = 0;
  std::map<std::string, uint32_t> by_state;
  std::map<std::string, uint32_t> by_version;
  uint32_t active_rollouts = 0;
  uint32_t offline = 0;
};

}  // namespace lifeboat::controller
