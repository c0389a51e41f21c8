#include "agent/contact/controller_client.h"

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/inventory_proto.h"
#include "common/sha256.h"
#include "lifeboat/v1/agent_service.grpc.pb.h"
#include "proto/rollout_job.h"
#include "proto/step_status.h"

namespace lifeboat::agent {

namespace {

Error FromStatus(const grpc::Status& s, const std::string& what) {
  ErrorCode code = ErrorCode::kIo;
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = ErrorCode::kBusy;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = ErrorCode::kNotFound;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = ErrorCode::kInvalidArgument;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = ErrorCode::kUnauthenticated;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = ErrorCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return {code, what + ": " + s.error_message()};
}

// Calls wait for the connection (up to their deadline) instead of failing at once while it is
// being made: a call that fails fast leaves no thread driving the TLS handshake, which then only
// moves on gRPC's 5-second backup poll, and a controller that came back would not be reached.
void Deadline(grpc::ClientContext& c, int seconds) {
  c.set_wait_for_ready(true);
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// A queue between two threads that holds at most kDepth items: Push waits for room, Pop for an
// item. After Close, Push refuses and Pop drains what is left, then returns nothing.
template <typename T>
class BoundedQueue {
 public:
  bool Push(T item) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return items_.size() < kDepth || closed_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }
  std::optional<T> Pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    room_.notify_one();
    return item;
  }
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  static constexpr size_t kDepth = 4;
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<T> items_;
  bool closed_ = false;
};

struct Chunk {
  uint64_t offset = 0;
  std::string data;
  std::string prefix_sha256;
};

v1::AgentState StateFromName(const std::string& s) {
  if (s == "downloading") return v1::AGENT_STATE_DOWNLOADING;
  if (s == "applying") return v1::AGENT_STATE_APPLYING;
  if (s == "failed") return v1::AGENT_STATE_FAILED;
  return v1::AGENT_STATE_IDLE;
}

}  // namespace

struct ControllerClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AgentService::Stub> rpc;  // the generated client
};

ControllerClient::ControllerClient(const std::string& address, const ClientTls& tls)
    : impl_(std::make_unique<Impl>()) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  options.pem_private_key = tls.key_pem;
  options.pem_cert_chain = tls.certificate_pem;
  // gRPC retries a lost connection on its own schedule (up to 2 minutes apart by default), and
  // calls made meanwhile fail at once with the old error: a controller that comes back would be
  // noticed late. Cap it near the daemon's own retry pace.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  impl_->channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
  impl_->rpc = v1::AgentService::NewStub(impl_->channel);
}

ControllerClient::~ControllerClient() = default;

Result<ControllerClient::Enrollment> ControllerClient::Enroll(
    const std::string& token, const std::string& machine_id,
    const std::string& certificate_request_pem) {
  grpc::ClientContext context;
  Deadline(context, 10);
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_machine_id(machine_id);
  request.set_certificate_request(certificate_request_pem);
  v1::EnrollResponse response;
  auto status = impl_->rpc->Enroll(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "enroll"));
  Enrollment e;
  e.certificate_pem = response.certificate();
  for (const auto& [k, v] : response.labels()) e.labels[k] = v;
  return e;
}

Result<std::string> ControllerClient::RenewCertificate(const std::string& machine_id,
                                                       const std::string& certificate_request_pem) {
  grpc::ClientContext context;
  Deadline(context, 10);
  v1::RenewCertificateRequest request;
  request.set_machine_id(machine_id);
  request.set_certificate_request(certificate_request_pem);
  v1::RenewCertificateResponse response;
  auto status = impl_->rpc->RenewCertificate(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "renew certificate"));
  return response.certificate();
}

namespace {

void ToProto(const HardwareIdentity& in, v1::MachineIdentity* out) {
  out->set_smbios_uuid(in.smbios_uuid);
  for (const auto& mac : in.macs) out->add_macs(mac);
  for (const auto& serial : in.disk_serials) out->add_disk_serials(serial);
}

}  // namespace

Result<ControllerClient::ServiceAnswer> ControllerClient::ServiceHello(
    const HardwareIdentity& identity, const Inventory& inventory, const std::string& computer_name,
    const std::string& certificate_request_pem) {
  grpc::ClientContext context;
  Deadline(context, 30);
  v1::ServiceHelloRequest request;
  ToProto(identity, request.mutable_identity());
  ToProto(inventory, request.mutable_inventory());
  request.set_computer_name(computer_name);
  request.set_certificate_request(certificate_request_pem);
  v1::ServiceHelloResponse response;
  auto status = impl_->rpc->ServiceHello(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "service hello"));
  ServiceAnswer answer;
  switch (response.outcome()) {
    case v1::ServiceHelloResponse::OUTCOME_SERVICE:
      answer.outcome = ServiceAnswer::Outcome::kService;
      break;
    case v1::ServiceHelloResponse::OUTCOME_NO_WORK:
      answer.outcome = ServiceAnswer::Outcome::kNoWork;
      break;
    default:
      answer.outcome = ServiceAnswer::Outcome::kPending;
      break;
  }
  answer.machine_id = response.machine_id();
  answer.certificate_pem = response.certificate();
  for (const auto& [k, v] : response.labels()) answer.labels[k] = v;
  answer.message = response.message();
  return answer;
}

Result<uint32_t> ControllerClient::Register(const std::string& machine_id,
                                            const std::map<std::string, std::string>& labels,
                                            const Inventory& inventory,
                                            const HardwareIdentity& identity) {
  grpc::ClientContext context;
  Deadline(context, 10);
  v1::RegisterRequest request;
  request.set_machine_id(machine_id);
  request.set_hostname(inventory.hostname);
  for (const auto& [k, v] : labels) (*request.mutable_labels())[k] = v;
  ToProto(inventory, request.mutable_inventory());
  if (!identity.smbios_uuid.empty() || !identity.macs.empty())
    ToProto(identity, request.mutable_identity());
  v1::RegisterResponse response;
  auto status = impl_->rpc->Register(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "register"));
  return response.heartbeat_interval_seconds();
}

Result<ControllerClient::HeartbeatReply> ControllerClient::Heartbeat(
    const std::string& machine_id, const Inventory& inventory, const std::string& state,
    const std::string& current_step, bool boot_recovery_set) {
  grpc::ClientContext context;
  Deadline(context, 30);
  v1::HeartbeatRequest request;
  request.set_machine_id(machine_id);
  ToProto(inventory, request.mutable_inventory());
  request.set_state(StateFromName(state));
  request.set_current_step(current_step);
  request.set_boot_recovery_set(boot_recovery_set);
  v1::HeartbeatResponse response;
  auto status = impl_->rpc->Heartbeat(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "heartbeat"));
  HeartbeatReply reply;
  reply.boot_recovery_once = response.boot_recovery_once();
  reply.next_heartbeat_seconds = response.next_heartbeat_seconds();
  reply.work_pending = response.work_pending();
  if (response.has_assignment()) {
    const auto& a = response.assignment();
    const auto& image = a.image();
    // A job this agent does not know is refused here rather than taken for an install.
    auto job = a.has_job() ? api::FromProto(a.job()) : std::optional<RolloutJob>{RolloutJob{}};
    if (!job)
      return Fail(ErrorCode::kUnsupported,
                  "heartbeat: the controller assigned a job this agent does not know (attempt " +
                      std::to_string(a.attempt_id()) + "); upgrade the agent");
    reply.assignment = Assignment{
        a.attempt_id(),
        a.rollout_id(),
        {image.version(), image.sha256(), image.size_bytes(), image.name(), image.description(),
         image.architecture(), image.expires(), image.contents().contents_sha256()},
        {image.signature().manifest(), image.signature().signature(), image.signature().key_id()},
        a.reported_sequence(),
        *job};
  }
  return reply;
}

// Three threads share the work, so that receiving, hashing and writing overlap (docs/benchmarks.md
// has what each step gained): this one checks each chunk, one receives, one writes. Chunks are
// written in order and only after their check, so the file is always a checked prefix of the
// image, and each is sent on to the disk at once.
Result<uint64_t> ControllerClient::Download(const std::string& sha256, uint64_t offset, int fd,
                                            Sha256& whole,
                                            const std::function<void(uint64_t)>& progress) {
  // The stream itself has no deadline (an image may take long); it starts once connected.
  if (!impl_->channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(30)))
    return Fail(ErrorCode::kBusy, "download: the controller cannot be reached");
  grpc::ClientContext context;
  v1::DownloadImageRequest request;
  request.set_sha256(sha256);
  request.set_offset(offset);
  auto reader = impl_->rpc->DownloadImage(&context, request);

  BoundedQueue<Chunk> received, checked;
  std::thread receiver([&] {
    v1::DownloadImageResponse message;
    while (reader->Read(&message)) {
      if (!received.Push({message.offset(), std::move(*message.mutable_data()),
                          std::move(*message.mutable_prefix_sha256())}))
        break;
    }
    received.Close();
  });
  std::optional<Error> write_error;
  std::thread writer([&] {
    while (auto chunk = checked.Pop()) {
      for (size_t done = 0; done < chunk->data.size() && !write_error;) {
        ssize_t n = pwrite(fd, chunk->data.data() + done, chunk->data.size() - done,
                           static_cast<off_t>(chunk->offset + done));
        if (n <= 0) {
          write_error =
              Error{ErrorCode::kIo, std::string("download: write: ") + std::strerror(errno)};
          checked.Close();  // the checker's next Push fails: it stops
        }
        done += static_cast<size_t>(std::max<ssize_t>(n, 0));
      }
      // Start writing the chunk out now rather than leaving the whole image to the caller's
      // fsync: the disk works while the rest arrives, and the final fsync has little left to do.
      if (!write_error)
        sync_file_range(fd, static_cast<off_t>(chunk->offset),
                        static_cast<off_t>(chunk->data.size()), SYNC_FILE_RANGE_WRITE);
    }
  });

  uint64_t at = offset;
  std::optional<Error> damaged;
  while (auto chunk = received.Pop()) {
    whole.Update({reinterpret_cast<const uint8_t*>(chunk->data.data()), chunk->data.size()});
    if (chunk->offset != at || whole.HexDigestSoFar() != chunk->prefix_sha256) {
      damaged = Error{ErrorCode::kVerification,
                      "download: the chunk at byte " + std::to_string(at) +
                          " arrived damaged, or the file so far is not the image's beginning; the "
                          "chunk was not kept"};
      break;
    }
    const uint64_t size = chunk->data.size();
    if (!checked.Push(std::move(*chunk))) break;  // a write failed
    at += size;
    if (progress) progress(at);
  }
  checked.Close();
  writer.join();  // every checked chunk is written (or a write failed)
  if (damaged || write_error) {
    context.TryCancel();
    received.Close();  // the receiver stops at its next Push
  }
  receiver.join();
  auto status = reader->Finish();
  if (write_error) return std::unexpected(*write_error);
  if (damaged) return std::unexpected(*damaged);
  if (!status.ok()) return std::unexpected(FromStatus(status, "download"));
  return at;
}

Result<uint64_t> ControllerClient::Report(const std::string& machine_id, uint64_t attempt_id,
                                          const std::vector<StepEvent>& events) {
  grpc::ClientContext context;
  Deadline(context, 10);
  v1::ReportProgressRequest request;
  request.set_machine_id(machine_id);
  request.set_attempt_id(attempt_id);
  for (const auto& e : events) {
    auto* out = request.add_events();
    out->set_sequence(e.sequence);
    out->set_step(e.step);
    out->set_status(api::ToProto(e.status));
    out->set_bytes_done(e.bytes_done);
    out->set_bytes_total(e.bytes_total);
    out->set_message(e.message);
    out->set_at(e.at);
  }
  v1::ReportProgressResponse response;
  auto status = impl_->rpc->ReportProgress(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "report"));
  return response.acknowledged_sequence();
}

Result<void> ControllerClient::SaveJournal(const std::string& machine_id,
                                           const std::string& journal) {
  grpc::ClientContext context;
  Deadline(context, 30);
  v1::SaveJournalRequest request;
  request.set_machine_id(machine_id);
  request.set_journal(journal);
  v1::SaveJournalResponse response;
  auto status = impl_->rpc->SaveJournal(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "save the journal"));
  return {};
}

Result<std::optional<std::string>> ControllerClient::LoadJournal(const std::string& machine_id) {
  grpc::ClientContext context;
  Deadline(context, 30);
  v1::LoadJournalRequest request;
  request.set_machine_id(machine_id);
  v1::LoadJournalResponse response;
  auto status = impl_->rpc->LoadJournal(&context, request, &response);
  if (!status.ok()) return std::unexpected(FromStatus(status, "load the journal"));
  if (!response.found()) return std::nullopt;
  return response.journal();
}

}  // namespace lifeboat::agent
