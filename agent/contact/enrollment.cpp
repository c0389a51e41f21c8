#include "agent/contact/enrollment.h"

#include <ctime>
#include <optional>
#include <sstream>

#include "agent/daemon/agent_log.h"
#include "common/files.h"
#include "common/pki.h"

namespace lifeboat::agent {

namespace {

void AddLabels(const std::string& text, std::map<std::string, std::string>& labels) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) labels[line.substr(0, eq)] = line.substr(eq + 1);
  }
}

// A time as RFC 3339, UTC.
std::string FormatUnixTime(long long seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

Result<void> LoadOrEnroll(const DaemonConfig& config, const std::string& machine_id,
                          DaemonState& state, ClientTls& tls,
                          std::map<std::string, std::string>& labels,
                          const std::function<bool(double)>& wait) {
  const std::string key_path = config.state_dir + "/agent.key";
  const std::string cert_path = config.state_dir + "/agent.pem";
  auto key = ReadTextFile(key_path), cert = ReadTextFile(cert_path);
  if (key && cert) {
    tls.key_pem = *key;
    tls.certificate_pem = *cert;
    if (auto saved = state.GetValue("enrolled_labels"); saved && *saved) AddLabels(**saved, labels);
    return {};
  }
  if (config.enrollment_token.empty())
    return Refuse("not-enrolled",
                  "this agent is not enrolled: put a token from `lifeboatctl token create` in its "
                  "config as enrollment_token");
  // The key is made once and kept, so a retried enrollment asks for the same key.
  if (!key) {
    auto made = NewPrivateKey();
    LIFEBOAT_TRY(made);
    if (auto r = WriteFileAtomically(key_path, *made, 0600); !r) return r;
    key = *made;
  }
  auto request = NewCertificateRequest(*key, machine_id);
  LIFEBOAT_TRY(request);
  ClientTls server_only;
  server_only.ca_pem = tls.ca_pem;
  ControllerClient client(config.controller, server_only);
  for (double backoff = 1;; backoff = std::min(backoff * 2, 60.0)) {
    auto enrolled = client.Enroll(config.enrollment_token, machine_id, *request);
    if (enrolled) {
      if (auto r = WriteFileAtomically(cert_path, enrolled->certificate_pem, 0644); !r) return r;
      std::string text;
      for (const auto& [k, v] : enrolled->labels) text += k + "=" + v + "\n";
      (void)state.SetValue("enrolled_labels", text);
      AddLabels(text, labels);
      tls.key_pem = *key;
      tls.certificate_pem = enrolled->certificate_pem;
      return {};
    }
    if (enrolled.error().code != ErrorCode::kBusy)
      return Refuse("enrollment-refused", "enrollment refused: " + enrolled.error().message);
    LogLine(enrolled.error().message + "; retrying in " +
            std::to_string(static_cast<int>(backoff)) + " s");
    if (!wait(backoff)) return Refuse("stopped", "stopped before enrollment");
  }
}

bool RenewalDue(long long not_before, long long not_after, long long now, long long before) {
  if (before <= 0) before = (not_after - not_before) / 3;
  return not_after - now < before;
}

void RenewIfDue(const DaemonConfig& config, const std::string& machine_id, ClientTls& tls) {
  auto current = ReadCertificate(tls.certificate_pem);
  if (!current) {
    LogLine("the client certificate in " + config.state_dir +
            "/agent.pem cannot be read: " + current.error().message);
    return;
  }
  const long long now = std::time(nullptr);
  if (!RenewalDue(current->not_before, current->not_after, now,
                  config.renew_certificate_before_seconds))
    return;
  const std::string until = FormatUnixTime(current->not_after);
  if (current->not_after <= now) {
    LogLine("this agent's client certificate expired at " + until +
            ": the controller refuses it; enroll the agent again (a new enrollment_token from "
            "`lifeboatctl token create`, and remove " +
            config.state_dir + "/agent.pem)");
    return;
  }
  auto request = NewCertificateRequest(tls.key_pem, machine_id);
  auto renewed =
      request ? ControllerClient(config.controller, tls).RenewCertificate(machine_id, *request)
              : std::unexpected(request.error());
  if (renewed)
    if (auto kept = WriteFileAtomically(config.state_dir + "/agent.pem", *renewed, 0644); !kept)
      renewed = std::unexpected(kept.error());
  if (!renewed) {
    LogLine("could not renew the client certificate (valid until " + until +
            "); the next contact tries again: " + renewed.error().message);
    return;
  }
  tls.certificate_pem = *renewed;
  auto fresh = ReadCertificate(*renewed);
  LogLine("client certificate renewed: valid until " +
          (fresh ? FormatUnixTime(fresh->not_after) : std::string("?")));
}

}  // namespace lifeboat::agent
