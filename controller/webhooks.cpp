#include "controller/webhooks.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "common/sha256.h"
#include "proto/api_json.h"

namespace lifeboat::controller {

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Body(const WebhookDelivery& d) {
  Poco::JSON::Object::Ptr body = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  body->set("delivery", d.id);
  body->set("event", d.event.type);
  body->set("at", d.created_at);
  body->set("rollout_id",
            d.event.rollout_id ? Poco::Dynamic::Var(d.event.rollout_id) : Poco::Dynamic::Var());
  body->set("machine_id", d.event.machine_id.empty() ? Poco::Dynamic::Var()
                                                     : Poco::Dynamic::Var(d.event.machine_id));
  body->set("message", d.event.message);
  return api::Text(body);
}

}  // namespace

int64_t WebhookBackoffSeconds(uint32_t attempts) {
  if (attempts == 0) return 0;
  return std::min<int64_t>(int64_t{1} << std::min<uint32_t>(attempts - 1, 20), 300);
}

Result<std::unique_ptr<WebhookSender>> WebhookSender::Start(WebhookStore& store,
                                                            WebhookOptions options) {
  for (const auto& url : options.urls) {
    std::string scheme;
    try {
      Poco::URI uri(url);
      scheme = uri.getScheme();
      if (uri.getHost().empty()) scheme.clear();
    } catch (const Poco::Exception&) {
    }
    if (scheme != "http" && scheme != "https")
      return BadInput("webhook_urls",
                      "webhook_urls: '" + url + "' is not an http:// or https:// URL");
  }
  if (options.secret.empty())
    return BadInput("webhook_secret",
                    "webhook_secret: webhooks need a shared secret to sign with "
                    "(--webhook-secret-file): receivers tell the controller's calls by it");
  Poco::Net::initializeSSL();
  std::unique_ptr<WebhookSender> sender(new WebhookSender(store, std::move(options)));
  sender->thread_ = std::thread([s = sender.get()] { s->Run(); });
  return sender;
}

WebhookSender::WebhookSender(WebhookStore& store, WebhookOptions options)
    : store_(store), options_(std::move(options)) {}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookSender::Notify(const FleetEvent& event) {
  if (auto added = store_.Add(event, options_.urls); !added)
    std::cerr << "lifeboat-controller: webhook: " << added.error().message << std::endl;
  wake_.notify_all();
}

void WebhookSender::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto due = store_.Due(Now(), 50);
    if (due) {
      for (const auto& d : *due) {
        const std::string error = Post(d);
        const uint32_t attempts = d.attempts + 1;
        auto recorded = error.empty()
                            ? store_.Delivered(d.id, attempts)
                            : store_.Failed(d.id, attempts, Now() + WebhookBackoffSeconds(attempts),
                                            error, attempts >= kWebhookAttempts);
        if (!recorded)
          std::cerr << "lifeboat-controller: webhook: " << recorded.error().message << std::endl;
        if (!error.empty() && attempts >= kWebhookAttempts)
          std::cerr << "lifeboat-controller: webhook: gave up delivering " << d.event.type << " to "
                    << d.url << " after " << attempts << " attempts: " << error << std::endl;
      }
    }
    lock.lock();
    // Woken by a new event, or once a second for the retries that come due.
    if (!stopping_) wake_.wait_for(lock, std::chrono::seconds(1));
  }
}

std::string WebhookSender::Post(const WebhookDelivery& d) {
  try {
    const Poco::URI uri(d.url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      // The system's CAs verify the receiver.
      Poco::Net::Context::Ptr tls =
          new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                 Poco::Net::Context::VERIFY_RELAXED, 9, true);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), tls);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(10, 0));
    const std::string body = Body(d);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.set("X-Lifeboat-Event", d.event.type);
    request.set("X-Lifeboat-Delivery", std::to_string(d.id));
    request.set("X-Lifeboat-Signature", "sha256=" + HmacSha256Hex(options_.secret, body));
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& answer = session->receiveResponse(response);
    std::ostringstream ignored;
    ignored << answer.rdbuf();
    const int status = static_cast<int>(response.getStatus());
    if (status >= 200 && status < 300) return "";
    return "HTTP " + std::to_string(status) + " " + response.getReason();
  } catch (const Poco::Exception& e) {
    return e.displayText();
  }
}

}  // namespace lifeboat::controller
