#include "partition/plan.h"

#include <cstdio>

#include "common/overloaded.h"

namespace lifeboat::partition {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Where(Lba start, Sectors size, uint32_t ss) {
  return "sectors " + std::to_string(start.value) + "-" + std::to_string((start + size).value - 1) +
         " (" + HumanSize(ToBytes(size, ss)) + " at byte " +
         std::to_string(ToBytes(start, ss).value) + ")";
}

}  // namespace

const char* StepKind(const Step& step) {
  return std::visit(Overloaded{
                        [](const BackupTableStep&) { return "backup-table"; },
                        [](const ShrinkNtfsStep&) { return "shrink-ntfs"; },
                        [](const ResizePartitionStep&) { return "resize-partition"; },
                        [](const MovePartitionStep&) { return "move-partition"; },
                        [](const CreatePartitionStep&) { return "create-partition"; },
                        [](const FormatNtfsStep&) { return "format-ntfs"; },
                        [](const GrowNtfsStep&) { return "grow-ntfs"; },
                        [](const RetargetWinReStep&) { return "retarget-winre"; },
                        [](const DeletePartitionStep&) { return "delete-partition"; },
                        [](const RestoreTableStep&) { return "restore-table"; },
                    },
                    step);
}

const char* PlanGoalName(PlanGoal goal) {
  switch (goal) {
    case PlanGoal::kGrowWinRe:
      return "grow-winre";
    case PlanGoal::kRemoveLifeboat:
      return "remove-lifeboat";
    case PlanGoal::kRestoreTable:
      return "restore-table";
    case PlanGoal::kLifeboatPartition:
      break;
  }
  return "lifeboat-partition";
}

std::string DescribeStep(const Step& step, uint32_t ss) {
  return std::visit(
      Overloaded{
          [](const BackupTableStep&) {
            return std::string(
                "back up the partition table (both GPT copies, or the MBR) into the journal");
          },
          [](const ShrinkNtfsStep& s) {
            return "shrink the NTFS volume of partition " + std::to_string(s.number) + " to " +
                   HumanSize(s.new_size) + " (ntfsresize: check minimum, rehearse, resize)";
          },
          [ss](const ResizePartitionStep& s) {
            return "resize partition " + std::to_string(s.number) + " from " +
                   HumanSize(ToBytes(s.old_size, ss)) + " to " + HumanSize(ToBytes(s.new_size, ss));
          },
          [ss](const MovePartitionStep& s) {
            const bool down = s.to < s.from;
            return "move partition " + std::to_string(s.number) + " (" + s.uuid + ") " +
                   (down ? "down" : "up") + " by " +
                   HumanSize(ToBytes(down ? s.from - s.to : s.to - s.from, ss)) + " from sector " +
                   std::to_string(s.from.value) + " to " + std::to_string(s.to.value) +
                   ", copying " + HumanSize(ToBytes(s.size, ss)) + " resumably, keeping its GUID";
          },
          [ss](const CreatePartitionStep& s) {
            std::string text = "create partition '" + s.name + "' type " + s.type + " at " +
                               Where(s.start, s.size, ss);
            if (s.attributes) text += " attributes " + Hex(s.attributes);
            if (!s.uuid.empty()) text += " GUID " + s.uuid;
            return text;
          },
          [ss](const FormatNtfsStep& s) {
            return "format NTFS labelled '" + s.label + "' at " + Where(s.start, s.size, ss);
          },
          [](const RetargetWinReStep& s) {
            return "point Windows' ReAgent.xml (on partition " + std::to_string(s.windows) +
                   ") and the BCD's recovery entries at WinRE's new place (partition " +
                   std::to_string(s.winre) + ", byte offset " +
                   std::to_string(s.from_offset.value) + " -> " +
                   std::to_string(s.to_offset.value) + ")";
          },
          [ss](const DeletePartitionStep& s) {
            return "delete partition " + std::to_string(s.number) + " (" + s.uuid + ", type " +
                   s.type + ") at " + Where(s.start, s.size, ss) +
                   " from the table; its bytes stay as they are";
          },
          [](const RestoreTableStep& s) {
            return "write back the partition table journal run " + std::to_string(s.run) +
                   " saved before it changed anything, byte for byte, and read it back";
          },
          [](const GrowNtfsStep& s) {
            return "grow the NTFS volume of partition " + std::to_string(s.number) +
                   " to fill its " + HumanSize(s.new_size) +
                   " (ntfsresize: check, rehearse, resize; every file stays in place)";
          },
      },
      step);
}

}  // namespace lifeboat::partition
