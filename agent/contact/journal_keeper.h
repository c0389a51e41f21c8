// Where a service visit keeps the agent's journal: with the controller. The visit's state folder
// is a RAM disk, which a power cut loses, and the journal is what lets a half-done move of a
// partition resume from the exact byte it reached (restarting it from the start could copy
// bytes it has already overwritten). So:
// - at the start of a visit, RestoreJournal writes the copy the controller holds into the state
//   folder;
// - while apply runs, a JournalKeeper answers its --journal-mirror requests
//   (agent/journal_mirror.h): it sends each copy of the journal to the controller and says "ok"
//   only once the controller has stored it durably. The agent does not go on with a step before
//   that, so the controller's copy is never more than the one write behind the disk that a
//   journalled step allows (see partition/executor.cpp: a step redone from its last record is
//   safe).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "agent/contact/controller_client.h"
#include "common/error.h"

namespace lifeboat::agent {

class JournalKeeper {
 public:
  // Listens on `socket_path` (a stale socket there is replaced) until destroyed, keeping copies
  // found at `copy_path` (the only file it sends) for `machine_id`. The client must be usable
  // from another thread (gRPC's are).
  [[nodiscard]] static Result<std::unique_ptr<JournalKeeper>> Start(ControllerClient& client,
                                                                    std::string machine_id,
                                                                    std::string socket_path,
                                                                    std::string copy_path);
  ~JournalKeeper();
  JournalKeeper(const JournalKeeper&) = delete;
  JournalKeeper& operator=(const JournalKeeper&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  int copies_kept() const { return kept_; }

 private:
  JournalKeeper(ControllerClient& client, std::string machine_id, std::string socket_path,
                std::string copy_path, int fd);
  void Serve();
  void Answer(int connection);
  Result<void> Keep(const std::string& path);

  ControllerClient& client_;
  const std::string machine_id_, socket_path_, copy_path_;
  const int listen_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> kept_{0};
  std::thread thread_;
};

// Writes the journal the controller keeps for `machine_id` to `journal_path`, unless a journal is
// there already (a machine whose state folder survives keeps its own). Returns whether it wrote
// one. Errors: kBusy (the controller is unreachable: do no disk work until it answers), others.
[[nodiscard]] Result<bool> RestoreJournal(ControllerClient& client, const std::string& machine_id,
                                          const std::string& journal_path);

}  // namespace lifeboat::agent
