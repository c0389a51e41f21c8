// Webhooks: each fleet event (controller/fleet_events.h) POSTed as JSON to every configured URL,
// signed, retried with backoff until delivered, and recorded (controller/webhook_store.h). The
// body is {"delivery": ID, "event": TYPE, "at": RFC 3339, "rollout_id": N or null,
// "machine_id": ID or null, "message": TEXT}; the headers X-Lifeboat-Event (the type),
// X-Lifeboat-Delivery (the id, the same on every retry: a receiver drops repeats by it) and
// X-Lifeboat-Signature: sha256=HEX (HMAC-SHA256 of the body under the shared secret). A 2xx
// answer delivers; anything else is tried again after 1, 2, 4, ... seconds (at most 5 minutes
// apart), 12 times in all. Poco::Net is used only here.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "controller/fleet_events.h"
#include "controller/webhook_store.h"

namespace lifeboat::controller {

struct WebhookOptions {
  std::vector<std::string> urls;  // http:// or https:// (checked against the system's CAs)
  std::string secret;             // the HMAC key; not empty
};

inline constexpr uint32_t kWebhookAttempts = 12;

// The wait before attempt `attempts` + 1, after `attempts` failed: 1, 2, 4, ... 300 seconds.
int64_t WebhookBackoffSeconds(uint32_t attempts);

class WebhookSender {
 public:
  // kInvalidArgument (field webhook_urls / webhook_secret) for a URL that is not http(s) or an
  // empty secret. Starts the thread that delivers, also what a previous run left pending.
  [[nodiscard]] static Result<std::unique_ptr<WebhookSender>> Start(WebhookStore& store,
                                                                    WebhookOptions options);
  ~WebhookSender();  // stops the thread; what is pending stays in the store

  // Records a delivery of `event` to every URL and wakes the thread. A FleetEventSink.
  void Notify(const FleetEvent& event);

 private:
  WebhookSender(WebhookStore& store, WebhookOptions options);
  void Run();
  // One attempt; "" when delivered, else why not.
  std::string Post(const WebhookDelivery& delivery);

  WebhookStore& store_;
  const WebhookOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lifeboat::controller
