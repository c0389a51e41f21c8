#include "agent/contact/enrollment.h"

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

}  // namespace lifeboat::agent
