// The agent's side of the lifeboat.v1 AgentService: plain calls over gRPC (used only in
// controller_client.cpp). Blocking; each call has a deadline. An unreachable controller is
// kBusy (retry later); a refused call carries the controller's message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/inventory.h"
#include "agent/step_event.h"
#include "common/error.h"
#include "common/image_manifest.h"
#include "common/rollout_job.h"
#include "common/sha256.h"

namespace lifeboat::agent {

struct Assignment {
  uint64_t attempt_id = 0;
  uint64_t rollout_id = 0;
  ImageManifest image;       // the image as published: version, sha256, size, name, ...
  ImageSignature signature;  // as published (empty manifest: unsigned), checked by image_trust
  uint64_t reported_sequence = 0;  // the controller's highest event sequence for the attempt
  RolloutJob job{};                // what to do; only an install has an image
};

// Who the machine is by its hardware (controller/machine_identity.h has the rules).
struct HardwareIdentity {
  std::string smbios_uuid;
  std::vector<std::string> macs;
  std::vector<std::string> disk_serials;
};

// TLS: the controller's CA certificate, to verify the controller, and once the agent is enrolled
// its own key and certificate, to prove who it is.
struct ClientTls {
  std::string ca_pem;
  std::string key_pem;
  std::string certificate_pem;
};

class ControllerClient {
 public:
  ControllerClient(const std::string& address, const ClientTls& tls);
  ~ControllerClient();

  // Enrollment: a one-time token and a certificate request for the agent's own key; returns the
  // client certificate and the token's labels. Errors: kUnauthenticated (token unknown, used or
  // expired), kPermissionDenied (revoked), kInvalidArgument, kBusy (unreachable).
  struct Enrollment {
    std::string certificate_pem;
    std::map<std::string, std::string> labels;
  };
  [[nodiscard]] Result<Enrollment> Enroll(const std::string& token, const std::string& machine_id,
                                          const std::string& certificate_request_pem);

  // A new client certificate for the agent's key (`certificate_request_pem`), asked for with the
  // current one. Errors: kPermissionDenied, kInvalidArgument, kBusy (unreachable).
  [[nodiscard]] Result<std::string> RenewCertificate(const std::string& machine_id,
                                                     const std::string& certificate_request_pem);

  // Returns the heartbeat interval the controller asks for.
  // `identity` is sent when it names anything.
  [[nodiscard]] Result<uint32_t> Register(const std::string& machine_id,
                                          const std::map<std::string, std::string>& labels,
                                          const Inventory& inventory,
                                          const HardwareIdentity& identity = {});

  // The service environment says who the machine is (no client certificate: it holds no
  // secret). Errors: kInvalidArgument, kPermissionDenied (revoked), kBusy (unreachable).
  struct ServiceAnswer {
    enum class Outcome { kPending, kNoWork, kService } outcome = Outcome::kPending;
    std::string machine_id;
    std::string certificate_pem;  // kService
    std::map<std::string, std::string> labels;
    std::string message;
  };
  [[nodiscard]] Result<ServiceAnswer> ServiceHello(const HardwareIdentity& identity,
                                                   const Inventory& inventory,
                                                   const std::string& computer_name,
                                                   const std::string& certificate_request_pem);
  struct HeartbeatReply {
    std::optional<Assignment> assignment;
    bool boot_recovery_once = false;      // the next boot should start Lifeboat, once
    uint32_t next_heartbeat_seconds = 0;  // 0: the controller did not say
    bool work_pending = false;            // more work is coming: a service visit stays
  };
  // `boot_recovery_set`: a boot-recovery request was carried out since the last heartbeat.
  [[nodiscard]] Result<HeartbeatReply> Heartbeat(const std::string& machine_id,
                                                 const Inventory& inventory,
                                                 const std::string& state,
                                                 const std::string& current_step,
                                                 bool boot_recovery_set);
  // Appends the image's bytes from `offset` to the file open at `fd` (positioned writes). `whole`
  // is the caller's hash of the file's first `offset` bytes; each chunk is added to it and the
  // result checked against the controller's hash of the image up to the chunk's end before the
  // chunk is written, so the file is always a checked prefix and, at the end, `whole` is the
  // image's hash. `progress(bytes_so_far)` after each chunk. Errors: kVerification (a damaged
  // chunk, or a file that was not a prefix of the image: nothing of the chunk was written, and
  // `whole` is spoilt; hash the file again and ask from its size), kBusy (unreachable),
  // kNotFound.
  [[nodiscard]] Result<uint64_t> Download(const std::string& sha256, uint64_t offset, int fd,
                                          Sha256& whole,
                                          const std::function<void(uint64_t)>& progress);
  // Returns the highest sequence the controller holds for the attempt.
  [[nodiscard]] Result<uint64_t> Report(const std::string& machine_id, uint64_t attempt_id,
                                        const std::vector<StepEvent>& events);
  // The agent journal kept with the controller (a service visit's, whose own copy is in a RAM
  // disk): SaveJournal returns once the controller holds `journal` durably; LoadJournal returns
  // what it holds, or nothing when nothing was ever saved. Errors: kBusy (unreachable),
  // kInvalidArgument, kNotFound.
  [[nodiscard]] Result<void> SaveJournal(const std::string& machine_id, const std::string& journal);
  [[nodiscard]] Result<std::optional<std::string>> LoadJournal(const std::string& machine_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::agent
