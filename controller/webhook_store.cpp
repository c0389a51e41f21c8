#include "controller/webhook_store.h"

#include "controller/store_session.h"

namespace lifeboat::controller {

using namespace Poco::Data::Keywords;
using Poco::Int64;

WebhookStore::WebhookStore(std::shared_ptr<StoreSession> session) : s_(std::move(session)) {}
WebhookStore::~WebhookStore() = default;

Result<void> WebhookStore::Add(const FleetEvent& event, const std::vector<std::string>& urls) {
  std::lock_guard lock(s_->mutex);
  return Guard("record a webhook delivery", [&] {
    std::string type = event.type, machine = event.machine_id, message = event.message;
    Int64 rollout = static_cast<Int64>(event.rollout_id);
    s_->session->begin();
    try {
      for (const auto& target : urls) {
        std::string url = target;
        *s_->session << (std::string("INSERT INTO webhook_deliveries(event, rollout_id, "
                                     "machine_id, message, url, created_at, state, attempts, "
                                     "next_attempt_at, last_error, delivered_at) VALUES (?, ?, ?, "
                                     "?, ?, ") +
                         s_->dialect.now + ", 'pending', 0, 0, '', '')"),
            use(type), use(rollout), use(machine), use(message), use(url), now;
      }
      s_->session->commit();
    } catch (...) {
      s_->session->rollback();
      throw;
    }
  });
}

namespace {

std::vector<WebhookDelivery> Select(Poco::Data::Session& s, const std::string& where,
                                    const std::string& order, Int64 bound, Int64 limit) {
  std::vector<Int64> id, rollout, attempts, next;
  std::vector<std::string> event, machine, message, url, created, state, error, delivered;
  s
      << ("SELECT id, event, rollout_id, machine_id, message, url, created_at, state, attempts, "
          "next_attempt_at, last_error, delivered_at FROM webhook_deliveries " +
          where + " ORDER BY " + order + " LIMIT ?"),
      into(id), into(event), into(rollout), into(machine), into(message), into(url), into(created),
      into(state), into(attempts), into(next), into(error), into(delivered), use(bound), use(limit),
      now;
  std::vector<WebhookDelivery> out;
  for (size_t k = 0; k < id.size(); ++k)
    out.push_back({static_cast<uint64_t>(id[k]),
                   {event[k], static_cast<uint64_t>(rollout[k]), machine[k], message[k]},
                   url[k],
                   created[k],
                   state[k],
                   static_cast<uint32_t>(attempts[k]),
                   next[k],
                   error[k],
                   delivered[k]});
  return out;
}

}  // namespace

Result<std::vector<WebhookDelivery>> WebhookStore::Due(int64_t now_seconds, uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("read due webhook deliveries", [&] {
    return Select(*s_->session, "WHERE state = 'pending' AND next_attempt_at <= ?", "id",
                  now_seconds, limit);
  });
}

Result<void> WebhookStore::Delivered(uint64_t id, uint32_t attempts) {
  std::lock_guard lock(s_->mutex);
  return Guard("record a webhook delivery", [&] {
    Int64 i = static_cast<Int64>(id), n = attempts;
    *s_->session << (std::string("UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, "
                                 "last_error = '', delivered_at = ") +
                     s_->dialect.now + " WHERE id = ?"),
        use(n), use(i), now;
  });
}

Result<void> WebhookStore::Failed(uint64_t id, uint32_t attempts, int64_t next_attempt_at,
                                  const std::string& error, bool give_up) {
  std::lock_guard lock(s_->mutex);
  return Guard("record a webhook delivery", [&] {
    Int64 i = static_cast<Int64>(id), n = attempts, next = next_attempt_at;
    std::string e = error, state = give_up ? "failed" : "pending";
    *s_->session << "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, "
                    "last_error = ? WHERE id = ?",
        use(state), use(n), use(next), use(e), use(i), now;
  });
}

Result<std::vector<WebhookDelivery>> WebhookStore::Recent(uint32_t limit) {
  std::lock_guard lock(s_->mutex);
  return Guard("read webhook deliveries",
               [&] { return Select(*s_->session, "WHERE id > ?", "id DESC", 0, limit); });
}

}  // namespace lifeboat::controller
