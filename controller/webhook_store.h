// The webhook deliveries the controller owes: one row per event and URL, kept in its database (on
// FleetStore's connection, controller/store_session.h) until delivered or given up, so that a
// restart loses none. Thread-safe: calls are serialized on that one session.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/fleet_events.h"

namespace lifeboat::controller {

struct StoreSession;

struct WebhookDelivery {
  uint64_t id = 0;
  FleetEvent event;
  std::string url;
  std::string created_at;  // RFC 3339: when the event happened
  std::string state;       // pending, delivered, failed (given up)
  uint32_t attempts = 0;
  int64_t next_attempt_at = 0;  // seconds since the epoch
  std::string last_error;
  std::string delivered_at;
};

class WebhookStore {
 public:
  explicit WebhookStore(std::shared_ptr<StoreSession> session);
  ~WebhookStore();

  // One pending delivery of `event` to each URL, due now, in one transaction.
  [[nodiscard]] Result<void> Add(const FleetEvent& event, const std::vector<std::string>& urls);
  // Pending deliveries due at `now` (seconds since the epoch), oldest first, at most `limit`.
  [[nodiscard]] Result<std::vector<WebhookDelivery>> Due(int64_t now, uint32_t limit);
  [[nodiscard]] Result<void> Delivered(uint64_t id, uint32_t attempts);
  // Another attempt at `next_attempt_at`; or, with `give_up`, the delivery ends failed.
  [[nodiscard]] Result<void> Failed(uint64_t id, uint32_t attempts, int64_t next_attempt_at,
                                    const std::string& error, bool give_up);
  // The newest deliveries first, at most `limit`.
  [[nodiscard]] Result<std::vector<WebhookDelivery>> Recent(uint32_t limit);

 private:
  std::shared_ptr<StoreSession> s_;
};

}  // namespace lifeboat::controller
