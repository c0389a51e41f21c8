// Group commit for the store's writes that many callers make at once (an agent's attempt started,
// its step events stored): their statements run in one transaction, each in a savepoint of its
// own (none when alone in it), and share its commit and fsync. Under a rollout's busiest wave about
// 170 machines a second take work and report it done; with a transaction each, the store's one
// connection did little but wait for fsyncs, and every call queued behind them. A caller still
// returns only once its statements are committed (or refused), as before.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <stop_token>
#include <thread>

#include "common/error.h"

namespace lifeboat::controller {

struct StoreSession;

class GroupCommit {
 public:
  // Runs the batches on a thread of its own, holding `session`'s mutex for each.
  explicit GroupCommit(StoreSession& session);
  // Runs what is still queued.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `statements` (Poco::Data calls on the session, which throw on failure) in the next
  // batch's transaction and returns once that has committed. If they throw, only they are undone
  // (their savepoint), and the error says `what`; if the commit fails, every caller of the batch
  // gets its error. Statements must not begin, commit or roll back themselves.
  [[nodiscard]] Result<void> Run(const char* what, const std::function<void()>& statements);

  // How many transactions have committed (for tests: many concurrent writers, fewer commits).
  [[nodiscard]] uint64_t commits() const;

 private:
  struct Request {
    const char* what;
    const std::function<void()>* statements;
    Result<void> result;
    bool done = false;
  };
  void Loop(std::stop_token stop);
  void RunBatch(std::deque<Request*>& batch);

  StoreSession& session_;
  mutable std::mutex queue_mutex_;
  std::condition_variable_any queue_changed_;
  std::deque<Request*> queue_;
  uint64_t commits_ = 0;
  std::jthread committer_;
};

}  // namespace lifeboat::controller
