// The GPT/MBR model: a disk whose first and last sectors are the input (a primary table at the
// start, a backup GPT at the end), read as `disk show` reads it (libfdisk, libblkid, the raw MBR),
// then checked and planned for as `disk plan` does. Nothing may crash, whatever the table says.
#include "fuzz/fuzz_input.h"
#include "partition/disk_handle.h"
#include "partition/disk_reader.h"
#include "partition/layout_check.h"
#include "partition/planner.h"

using namespace lifeboat;
using namespace lifeboat::partition;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 8 MiB: room for partitions, small enough to stay in memory.
  constexpr size_t kDisk = 8 << 20;
  const size_t head = size / 2 + size % 2;
  fuzz::MemoryFile file(data, head, kDisk, data + head, size - head);
  if (file.path().empty()) return 0;
  auto disk = DiskHandle::Open(file.path(), DiskHandle::Mode::kReadOnly);
  if (!disk) return 0;
  auto model = ReadDisk(*disk, {.look_inside_ntfs = false});
  if (!model) return 0;
  (void)CheckLayout(*model);
  // The planner must refuse or plan; pretend the NTFS volumes were looked inside, so that it goes
  // as far as it can.
  for (auto& p : model->partitions) {
    if (p.filesystem != FilesystemKind::kNtfs) continue;
    p.ntfs = NtfsDetails{true,
                         false,
                         false,
                         ToBytes(p.size, model->sector_size),
                         Bytes{ToBytes(p.size, model->sector_size).value / 4},
                         ""};
  }
  ClassifyPartitions(*model);
  for (Bytes want : {Bytes{64 << 20}, Bytes{1 << 20}, kGiB}) {
    PlanPolicy policy;
    policy.recovery_size = want;
    auto plan = MakePlan(*model, policy);
    if (!plan) continue;
    for (const auto& step : plan->steps) (void)DescribeStep(step, plan->sector_size);
  }
  return 0;
}
