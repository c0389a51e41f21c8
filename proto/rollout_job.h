// A rollout's job (common/rollout_job.h) on the wire, lifeboat.v1.Job: the one conversion, for the
// controller and the agent's contact alike.
#pragma once

#include "common/enum_table.h"
#include "common/rollout_job.h"
#include "lifeboat/v1/types.pb.h"

namespace lifeboat::api {

inline constexpr auto kJobKindOnTheWire = MakeEnumTable<JobKind, v1::JobKind>({
    {JobKind::kInstall, v1::JOB_KIND_INSTALL},
    {JobKind::kWinReGrow, v1::JOB_KIND_WINRE_GROW},
    {JobKind::kRemove, v1::JOB_KIND_REMOVE},
});

inline v1::JobKind ToProto(JobKind kind) {
  return kJobKindOnTheWire.To(kind).value_or(v1::JOB_KIND_UNSPECIFIED);
}

inline void ToProto(const RolloutJob& in, v1::Job* out) {
  out->set_kind(ToProto(in.kind));
  out->set_winre_free_bytes(in.winre_free_bytes);
  out->set_winre_size_bytes(in.winre_size_bytes);
  if (in.kind == JobKind::kRemove) out->set_reclaim(in.reclaim);
}

// UNSPECIFIED is an install; a kind this build does not know is nothing (the caller refuses it);
// an empty reclaim is none.
inline std::optional<RolloutJob> FromProto(const v1::Job& in) {
  RolloutJob job;
  if (in.kind() != v1::JOB_KIND_UNSPECIFIED) {
    auto kind = kJobKindOnTheWire.From(in.kind());
    if (!kind) return std::nullopt;
    job.kind = *kind;
  }
  job.winre_free_bytes = in.winre_free_bytes();
  job.winre_size_bytes = in.winre_size_bytes();
  if (!in.reclaim().empty()) job.reclaim = in.reclaim();
  return job;
}

}  // namespace lifeboat::api
