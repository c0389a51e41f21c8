#include "controller/group_commit.h"

#include <Poco/Data/Session.h>
#include <pthread.h>

#include "controller/store_session.h"

namespace lifeboat::controller {

GroupCommit::GroupCommit(StoreSession& session) : session_(session) {
  committer_ = std::jthread([this](std::stop_token stop) {
    pthread_setname_np(pthread_self(), "store-commit");  // as top -H and /proc show it
    Loop(stop);
  });
}

GroupCommit::~GroupCommit() {
  committer_.request_stop();
  queue_changed_.notify_all();
  if (committer_.joinable()) committer_.join();
}

Result<void> GroupCommit::Run(const char* what, const std::function<void()>& statements) {
  Request request{what, &statements, {}, false};
  std::unique_lock lock(queue_mutex_);
  queue_.push_back(&request);
  queue_changed_.notify_all();
  queue_changed_.wait(lock, [&] { return request.done; });
  return request.result;
}

uint64_t GroupCommit::commits() const {
  std::lock_guard lock(queue_mutex_);
  return commits_;
}

void GroupCommit::Loop(std::stop_token stop) {
  for (;;) {
    std::deque<Request*> batch;
    {
      std::unique_lock lock(queue_mutex_);
      // Once asked to stop, what is queued still runs: its callers are waiting for it.
      queue_changed_.wait(lock, stop, [this] { return !queue_.empty(); });
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    RunBatch(batch);
    std::lock_guard lock(queue_mutex_);
    for (Request* r : batch) r->done = true;
    queue_changed_.notify_all();
  }
}

namespace {

// Undoes the statements of one call after they failed; false if the transaction itself is gone
// (SQLite rolls it all back on some errors: a full disk, an I/O error).
bool UndoCall(PreparedStatements& sql) {
  try {
    sql.Run("ROLLBACK TO one_call");
    sql.Run("RELEASE one_call");
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

}  // namespace

void GroupCommit::RunBatch(std::deque<Request*>& batch) {
  std::lock_guard lock(session_.mutex);
  Poco::Data::Session& session = *session_.session;
  auto begun = Guard("begin a transaction", [&] { session.begin(); });
  if (!begun) {
    for (Request* r : batch) r->result = begun;
    return;
  }
  // Once the transaction is lost, no later call may run outside it (each statement would commit
  // on its own), and none that ran in it is committed.
  bool lost = false;
  for (Request* r : batch) {
    if (lost) {
      r->result = Fail(ErrorCode::kDatabase,
                       std::string("fleet store: ") + r->what + ": the transaction was lost");
      continue;
    }
    r->result = Guard(r->what, [&] {
      if (batch.size() == 1) {
        // Alone in the batch, a call has the transaction to itself: its rollback undoes the call,
        // and two more statements (a savepoint and its release) are saved.
        try {
          (*r->statements)();
        } catch (...) {
          lost = true;
          throw;
        }
        return;
      }
      bool ran = false;
      try {
        session_.prepared.Run("SAVEPOINT one_call");
        (*r->statements)();
        ran = true;
        session_.prepared.Run("RELEASE one_call");
      } catch (...) {
        if (ran || !UndoCall(session_.prepared)) lost = true;
        throw;
      }
    });
  }
  Result<void> ended =
      lost ? Result<void>(Fail(ErrorCode::kDatabase, "fleet store: a shared transaction was lost"))
           : Guard("commit", [&] { session.commit(); });
  if (!ended) {
    (void)Guard("roll back", [&] { session.rollback(); });
    for (Request* r : batch)
      if (r->result) r->result = ended;
    return;
  }
  std::lock_guard count(queue_mutex_);
  ++commits_;
}

}  // namespace lifeboat::controller
