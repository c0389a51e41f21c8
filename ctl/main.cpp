// lifeboatctl: the operator's command line over gRPC (AdminService). Tables for people, --json
// (protobuf's JSON form of the response) for tools. Exit codes are in docs/lifeboatctl.md.
#include <Poco/JSON/Object.h>
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "common/version.h"
#include "image/wim_file.h"
#include "lifeboat/v1/admin_service.grpc.pb.h"

namespace {

using namespace lifeboat;

constexpr const char* kUsage = R"(lifeboatctl - operate a Lifeboat controller

Usage: lifeboatctl [--controller ADDR] [--json] COMMAND ...

Images:
  image publish FILE.wim --version V [--sign-key KEY]
                                       upload an image (progress on stderr), checked and stored
                                       by the controller. --sign-key: check it here too and sign
                                       its manifest (version, SHA-256, size, name, description,
                                       architecture) with the Ed25519 key; agents install only
                                       images signed by a key they trust
  image publish PATH --version V --from-path [--sign-key KEY]
                                       publish a file already on the controller's disk (to
                                       sign, it must be readable here too)
  image list [--all]                   published images (--all: retired ones too)
  image show V
  image retire V                       no new rollout may use it (refused while one does)
Rollouts:
  rollout create --image V (--all | --label K=V ... | --machine ID ...)
                 [--waves 1%,10%,50%,100% | 5,50,500] [--wait SECONDS] [--max-in-progress N]
                 [--failure-threshold PERCENT] [--max-retries N] [--machine-deadline 24h]
                 [--allow-unsigned]
                                       --failure-threshold: halt when more than PERCENT of a
                                       wave failed (default 10; 0: never halt). --machine-deadline:
                                       a machine offline that long after its wave opened is
                                       skipped and no longer holds up the waves; it is still
                                       served if it comes back (default 24h; 0: never skip).
                                       An unsigned image is refused (agents install only signed
                                       ones) unless --allow-unsigned is given
  rollout list | show ID | pause ID | resume ID | abort ID | rollback ID
                                       resuming a halted rollout accepts the failures it halted
                                       for; a further failure halts it again
Machines:
  machine list [--label K=V ...]
  machine show ID                      with the history of every attempt and step
  machine boot-recovery ID             the machine's next boot (only) starts Lifeboat
  machine revoke ID                    (admin) refuse that agent from now on
Enrollment (admin):
  token create [--label K=V ...] [--expires 24h]
                                       a one-time token with which one agent gets its client
                                       certificate (enrollment_token in its config); 24h default
Fleet:
  fleet summary
Operators (admin):
  operator add NAME --role viewer|operator|admin
                                       prints the new operator's token, once
  operator list | operator remove NAME
  audit list [--limit N]               every change and every refused call, newest first:
                                       who, when, what, outcome and from where (default 100)
Signing keys (local; no controller needed):
  key generate --out PREFIX            a new Ed25519 key pair for signing images: PREFIX.key
                                       (private, mode 0600, never overwritten) and PREFIX.pub

Options:
  --controller ADDR  the controller's gRPC address (default: $LIFEBOAT_CONTROLLER or
                     127.0.0.1:7443)
  --ca FILE          the controller's CA certificate, to verify it (TLS): default $LIFEBOAT_CA
                     or /etc/lifeboat/ca.pem; the controller writes it to its DATA_DIR/ca.pem
  --token-file FILE  this operator's token (default $LIFEBOAT_TOKEN_FILE, or the token itself in
                     $LIFEBOAT_TOKEN). The first admin's is DATA_DIR/admin.token on the controller;
                     roles: viewer (reads), operator (rollouts, boot-recovery), admin (all)
  --json             print the response as JSON (protobuf's JSON mapping) on stdout
  -h, --help         this help

Exit codes: 0 done, 1 error, 2 usage or invalid argument, 3 refused (exists, in use, retired,
            bytes did not match), 4 controller unreachable, 5 not found, 6 not allowed (no or
            unknown token, or a role too low).
)";

int Usage(const std::string& problem) {
  std::cerr << "lifeboatctl: " << problem << "\nRun 'lifeboatctl --help' for usage.\n";
  return 2;
}

int ExitFor(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return 0;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 2;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::DATA_LOSS:
      return 3;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 4;
    case grpc::StatusCode::NOT_FOUND:
      return 5;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return 6;
    default:
      return 1;
  }
}

// JSON text of an object, through Poco's JSON (escapes every control character).
std::string JsonText(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

int Fail(const grpc::Status& s, bool json) {
  if (json) {
    Poco::JSON::Object::Ptr error = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    error->set("code", static_cast<int>(s.error_code()));
    error->set("message", s.error_message());
    Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
    out->set("error", error);
    std::cout << JsonText(out) << "\n";
  } else {
    std::cerr << "lifeboatctl: " << s.error_message() << "\n";
  }
  return ExitFor(s);
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

// A plain text table: the header, then rows, columns padded to their widest cell.
void Table(const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      std::cout << cells[c];
      if (c + 1 < cells.size()) std::cout << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

// "ROLLOUT_STATE_ACTIVE" -> "active", from the names protobuf generates for the enums.
std::string ShortName(const std::string& full, const std::string& prefix) {
  if (full.empty() || full == prefix + "UNSPECIFIED") return "-";
  std::string out = full.starts_with(prefix) ? full.substr(prefix.size()) : full;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string StateName(v1::RolloutState s) {
  return ShortName(v1::RolloutState_Name(s), "ROLLOUT_STATE_");
}
std::string AgentStateText(v1::AgentState s) {
  return ShortName(v1::AgentState_Name(s), "AGENT_STATE_");
}

std::string Size(uint64_t bytes) {
  char out[32];
  if (bytes >= (1ULL << 30))
    std::snprintf(out, sizeof out, "%.2f GiB", bytes / double(1ULL << 30));
  else if (bytes >= (1ULL << 20))
    std::snprintf(out, sizeof out, "%.1f MiB", bytes / double(1ULL << 20));
  else
    std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
  return out;
}

void PrintRollout(const v1::Rollout& r) {
  const auto& p = r.progress();
  std::cout << "rollout " << r.id() << ": " << StateName(r.state()) << ", image "
            << r.spec().image_version()
            << (r.rollback_of() ? " (rollback of " + std::to_string(r.rollback_of()) + ")" : "")
            << "\n  machines  " << p.targeted() << " targeted: " << p.succeeded() << " succeeded, "
            << p.failed() << " failed, " << p.in_progress() << " in progress, " << p.pending()
            << " pending, " << p.skipped() << " skipped (offline)\n  wave      "
            << p.current_wave() + 1 << " of " << std::max(1, r.spec().waves_size()) << "\n";
  if (!r.message().empty()) std::cout << "  message   " << r.message() << "\n";
  std::cout << "  created   " << r.created_at() << "\n";
}

struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> values;
  std::vector<std::string> flags;
  bool Has(const std::string& f) const {
    return std::find(flags.begin(), flags.end(), f) != flags.end();
  }
  std::optional<std::string> Value(const std::string& k) const {
    auto it = values.find(k);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

std::optional<uint32_t> Number(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return static_cast<uint32_t>(std::stoul(text));
}

bool Label(const std::string& text, std::string& key, std::string& value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  key = text.substr(0, eq);
  value = text.substr(eq + 1);
  return true;
}

// --sign-key: check the image here as agents will (wimlib), then sign the manifest of what was
// checked. The controller refuses the signature unless its own check finds the same.
Result<v1::SignedBy> SignImage(const std::string& file, const std::string& version,
                               const std::string& key_file) {
  std::ifstream key_in(key_file);
  if (!key_in) return Fail(ErrorCode::kNotFound, "--sign-key: cannot read " + key_file);
  const std::string private_pem{std::istreambuf_iterator<char>(key_in), {}};
  auto public_pem = PublicKeyOf(private_pem);
  if (!public_pem)
    return Fail(ErrorCode::kInvalidArgument,
                "--sign-key " + key_file + ": " + public_pem.error().message);
  std::cerr << "checking " << file << " ...\n";
  auto image = image::CheckImage(file);
  if (!image)
    return Fail(ErrorCode::kInvalidArgument, file +
                                                 ": not a usable recovery image, so it is not "
                                                 "signed: " +
                                                 image.error().message);
  const std::string manifest = ManifestText({version, image->sha256, image->size.value, image->name,
                                             image->description, image->architecture});
  auto signature = Sign(private_pem, manifest);
  auto id = KeyId(*public_pem);
  if (!signature || !id) return Fail(ErrorCode::kIo, "--sign-key: signing failed");
  v1::SignedBy signed_by;
  signed_by.mutable_signature()->set_manifest(manifest);
  signed_by.mutable_signature()->set_signature(*signature);
  signed_by.mutable_signature()->set_key_id(*id);
  signed_by.set_public_key(*public_pem);
  std::cerr << "signed the manifest of " << version << " with key " << *id << "\n";
  return signed_by;
}

// "3600", "90m", "24h", "7d" -> seconds.
std::optional<uint64_t> Duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  auto n = Number(digits);
  if (!n || *n > 100000000) return std::nullopt;
  return *n * unit;
}

int PublishUpload(v1::AdminService::Stub& stub, const std::string& file, const std::string& version,
                  const std::optional<v1::SignedBy>& signed_by, bool json) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return Usage("cannot read " + file);
  std::cerr << "hashing " << file << " ...\n";
  auto sha = Sha256File(file);
  if (!sha) return Usage(sha.error().message);
  grpc::ClientContext context;
  v1::PublishImageResponse response;
  auto writer = stub.PublishImage(&context, &response);
  v1::PublishImageRequest header;
  header.mutable_header()->set_version(version);
  header.mutable_header()->set_sha256(*sha);
  header.mutable_header()->set_size_bytes(static_cast<uint64_t>(st.st_size));
  if (signed_by) *header.mutable_header()->mutable_signed_by() = *signed_by;
  writer->Write(header);
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  uint64_t sent = 0, total = static_cast<uint64_t>(st.st_size);
  int last = -1;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    v1::PublishImageRequest part;
    part.set_chunk(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(part)) break;
    sent += static_cast<uint64_t>(n);
    int percent = total ? static_cast<int>(sent * 100 / total) : 100;
    if (percent != last && (isatty(STDERR_FILENO) || percent == 100)) {
      last = percent;
      std::string bar(static_cast<size_t>(percent / 4), '#');
      bar.resize(25, ' ');
      std::cerr << "\rupload [" << bar << "] " << percent << "% " << Size(sent) << " of "
                << Size(total) << std::flush;
    }
  }
  std::cerr << "\n";
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  // The controller checked its own copy: say which of the operator's files it was about.
  if (!status.ok())
    return Fail(grpc::Status(status.error_code(), "publish " + file + " as version " + version +
                                                      ": " + status.error_message()),
                json);
  if (json) {
    std::cout << Json(response) << "\n";
  } else {
    std::cout << "published " << response.image().version() << " (" << response.image().name()
              << ", " << Size(response.image().size_bytes()) << ", sha256 "
              << response.image().sha256() << ", "
              << (response.image().has_signature()
                      ? "signed by key " + response.image().signature().key_id()
                      : std::string("unsigned: agents will not install it"))
              << ")\n";
  }
  return 0;
}

}  // namespace

// Writes `bytes` to a new file only: an existing key is never replaced.
bool WriteNewFile(const std::string& path, const std::string& bytes, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    std::cerr << "lifeboatctl: " << path << ": " << std::strerror(errno)
              << (errno == EEXIST ? " (an existing key is never replaced)" : "") << "\n";
    return false;
  }
  bool ok = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) std::cerr << "lifeboatctl: " << path << ": cannot write it\n";
  return ok;
}

int KeyGenerate(const std::optional<std::string>& prefix, bool json) {
  if (!prefix || prefix->empty()) return Usage("key generate needs --out PREFIX");
  auto pair = GenerateSigningKey();
  if (!pair) {
    std::cerr << "lifeboatctl: " << pair.error().message << "\n";
    return 1;
  }
  auto id = KeyId(pair->public_pem);
  const std::string private_path = *prefix + ".key", public_path = *prefix + ".pub";
  if (!id || !WriteNewFile(private_path, pair->private_pem, 0600)) return 1;
  if (!WriteNewFile(public_path, pair->public_pem, 0644)) {
    unlink(private_path.c_str());
    return 1;
  }
  if (json) {
    Poco::JSON::Object::Ptr out = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    out->set("key_id", *id);
    out->set("private_key", private_path);
    out->set("public_key", public_path);
    std::cout << JsonText(out) << "\n";
  } else {
    std::cout << "key " << *id << "\n  private " << private_path
              << " (signs images: keep it secret)\n  public  " << public_path
              << " (agents trust it)\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  std::string controller =
      std::getenv("LIFEBOAT_CONTROLLER") ? std::getenv("LIFEBOAT_CONTROLLER") : "127.0.0.1:7443";
  static const std::vector<std::string> kValueOptions = {"--controller",
                                                         "--version",
                                                         "--image",
                                                         "--label",
                                                         "--machine",
                                                         "--waves",
                                                         "--wait",
                                                         "--max-in-progress",
                                                         "--failure-threshold",
                                                         "--max-retries",
                                                         "--machine-deadline",
                                                         "--out",
                                                         "--sign-key",
                                                         "--ca",
                                                         "--token-file",
                                                         "--role",
                                                         "--limit",
                                                         "--expires"};
  Args a;
  bool json = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string& s = raw[i];
    if (s == "-h" || s == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (s == "--json") {
      json = true;
    } else if (std::find(kValueOptions.begin(), kValueOptions.end(), s) != kValueOptions.end()) {
      if (i + 1 >= raw.size()) return Usage(s + " needs a value");
      a.values.emplace(s, raw[++i]);
    } else if (s == "--all" || s == "--from-path" || s == "--allow-unsigned") {
      a.flags.push_back(s);
    } else if (!s.empty() && s[0] == '-') {
      return Usage("unknown option '" + s + "'");
    } else {
      a.positional.push_back(s);
    }
  }
  if (auto c = a.Value("--controller")) controller = *c;
  if (a.positional.size() < 2) {
    if (a.positional.empty()) {
      std::cout << kUsage;
      return 2;
    }
    return Usage("'" + a.positional[0] + "' needs a subcommand");
  }
  const std::string command = a.positional[0] + " " + a.positional[1];
  std::vector<std::string> rest(a.positional.begin() + 2, a.positional.end());
  if (command == "key generate") return KeyGenerate(a.Value("--out"), json);
  const std::string ca_file = a.Value("--ca").value_or(
      std::getenv("LIFEBOAT_CA") ? std::getenv("LIFEBOAT_CA") : "/etc/lifeboat/ca.pem");
  std::ifstream ca_in(ca_file);
  if (!ca_in) {
    return Usage("cannot read the controller's CA certificate " + ca_file +
                 " (give --ca FILE or $LIFEBOAT_CA; the controller writes it to its "
                 "DATA_DIR/ca.pem)");
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = std::string{std::istreambuf_iterator<char>(ca_in), {}};
  // The operator's token goes with every call as "authorization: Bearer <token>".
  std::string token = std::getenv("LIFEBOAT_TOKEN") ? std::getenv("LIFEBOAT_TOKEN") : "";
  std::optional<std::string> token_file = a.Value("--token-file");
  if (!token_file && std::getenv("LIFEBOAT_TOKEN_FILE"))
    token_file = std::getenv("LIFEBOAT_TOKEN_FILE");
  if (token_file) {
    std::ifstream token_in(*token_file);
    if (!token_in || !std::getline(token_in, token))
      return Usage("cannot read the operator token in " + *token_file);
  }
  auto credentials = token.empty()
                         ? grpc::SslCredentials(tls)
                         : grpc::CompositeChannelCredentials(grpc::SslCredentials(tls),
                                                             grpc::AccessTokenCredentials(token));
  auto channel = grpc::CreateChannel(controller, credentials);
  auto stub = v1::AdminService::NewStub(channel);
  auto deadline = [](grpc::ClientContext& c) {
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  };
  auto need = [&](size_t n, const char* what) -> bool {
    if (rest.size() == n) return true;
    Usage(command + " needs " + what);
    return false;
  };
  auto id_arg = [&]() -> std::optional<uint64_t> {
    if (rest.size() != 1) return std::nullopt;
    auto n = Number(rest[0]);
    if (!n) return std::nullopt;
    return *n;
  };

  // Versions are checked here, before anything is sent: the controller would refuse them too,
  // but an absurd one (100,000 characters) must be named as the field it is.
  for (const char* option : {"--version", "--image"}) {
    if (auto v = a.Value(option); v && !ValidVersion(*v)) return Usage(NotAName(option, *v));
  }
  if ((command == "image show" || command == "image retire") && rest.size() == 1 &&
      !ValidVersion(rest[0]))
    return Usage(NotAName("version", rest[0]));

  if (command == "image publish") {
    if (!need(1, "FILE")) return 2;
    auto version = a.Value("--version");
    if (!version) return Usage("image publish needs --version V");
    std::optional<v1::SignedBy> signed_by;
    if (auto key = a.Value("--sign-key")) {
      auto made = SignImage(rest[0], *version, *key);
      if (!made) {
        std::cerr << "lifeboatctl: " << made.error().message << "\n";
        return made.error().code == ErrorCode::kNotFound ? 5 : 2;
      }
      signed_by = *made;
    }
    if (!a.Has("--from-path")) return PublishUpload(*stub, rest[0], *version, signed_by, json);
    grpc::ClientContext context;
    deadline(context);
    v1::PublishImageFromPathRequest request;
    request.set_version(*version);
    request.set_path(rest[0]);
    if (signed_by) *request.mutable_signed_by() = *signed_by;
    v1::PublishImageFromPathResponse response;
    auto s = stub->PublishImageFromPath(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(response) << "\n";
    else
      std::cout << "published " << response.image().version() << " (sha256 "
                << response.image().sha256() << ")\n";
    return 0;
  }
  if (command == "image list") {
    grpc::ClientContext context;
    deadline(context);
    v1::ListImagesRequest request;
    request.set_include_retired(a.Has("--all"));
    v1::ListImagesResponse response;
    auto s = stub->ListImages(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& i : response.images()) {
      rows.push_back({i.version(), i.name(), i.architecture(), Size(i.size_bytes()),
                      i.sha256().substr(0, 12),
                      i.has_signature() ? i.signature().key_id() : "unsigned", i.published_at(),
                      i.retired() ? "retired" : ""});
    }
    Table({"VERSION", "NAME", "ARCH", "SIZE", "SHA256", "SIGNED BY", "PUBLISHED", ""}, rows);
    return 0;
  }
  if (command == "image show" || command == "image retire") {
    if (!need(1, "a version")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::Image image;
    grpc::Status s;
    google::protobuf::Message* response = nullptr;
    v1::GetImageResponse got;
    v1::RetireImageResponse retired;
    if (command == "image show") {
      v1::GetImageRequest request;
      request.set_version(rest[0]);
      s = stub->GetImage(&context, request, &got);
      image = got.image();
      response = &got;
    } else {
      v1::RetireImageRequest request;
      request.set_version(rest[0]);
      s = stub->RetireImage(&context, request, &retired);
      image = retired.image();
      response = &retired;
    }
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(*response) << "\n";
      return 0;
    }
    std::cout << "image " << image.version() << (image.retired() ? " (retired)" : "") << "\n"
              << "  name          " << image.name() << "\n  description   " << image.description()
              << "\n  architecture  " << image.architecture() << "\n  size          "
              << Size(image.size_bytes()) << "\n  files         " << image.file_count()
              << "\n  sha256        " << image.sha256() << "\n  boot index    "
              << image.boot_index() << "\n  winload       "
              << (image.has_winload_efi() ? "efi " : "") << (image.has_winload_exe() ? "exe" : "")
              << "\n  signed by     "
              << (image.has_signature() ? "key " + image.signature().key_id()
                                        : std::string("nobody: agents refuse unsigned images"))
              << "\n  published     " << image.published_at() << "\n";
    return 0;
  }
  if (command == "rollout create") {
    if (!rest.empty()) return Usage("rollout create takes options only");
    v1::CreateRolloutRequest request;
    auto* spec = request.mutable_spec();
    auto image = a.Value("--image");
    if (!image) return Usage("rollout create needs --image V");
    spec->set_image_version(*image);
    spec->mutable_selector()->set_all(a.Has("--all"));
    for (auto [it, end] = a.values.equal_range("--label"); it != end; ++it) {
      std::string k, v;
      if (!Label(it->second, k, v)) return Usage("--label '" + it->second + "' is not KEY=VALUE");
      (*spec->mutable_selector()->mutable_labels())[k] = v;
    }
    for (auto [it, end] = a.values.equal_range("--machine"); it != end; ++it)
      spec->mutable_selector()->add_machine_ids(it->second);
    if (auto waves = a.Value("--waves")) {
      std::string item;
      std::stringstream ss(*waves);
      while (std::getline(ss, item, ',')) {
        bool percent = !item.empty() && item.back() == '%';
        auto n = Number(percent ? item.substr(0, item.size() - 1) : item);
        if (!n)
          return Usage("--waves '" + *waves + "': '" + item + "' is not a count or a percent");
        if (percent)
          spec->add_waves()->set_percent(*n);
        else
          spec->add_waves()->set_count(*n);
      }
    }
    struct NumberOption {
      const char* name;
      void (v1::RolloutSpec::*set)(uint32_t);
    };
    for (auto [name, set] :
         {NumberOption{"--wait", &v1::RolloutSpec::set_wait_between_waves_seconds},
          NumberOption{"--max-in-progress", &v1::RolloutSpec::set_max_in_progress},
          NumberOption{"--failure-threshold", &v1::RolloutSpec::set_failure_threshold_percent},
          NumberOption{"--max-retries", &v1::RolloutSpec::set_max_retries}}) {
      if (auto v = a.Value(name)) {
        auto n = Number(*v);
        if (!n) return Usage(std::string(name) + " '" + *v + "' is not a number");
        (spec->*set)(*n);
      }
    }
    if (auto v = a.Value("--machine-deadline")) {
      auto seconds = Duration(*v);
      if (!seconds || *seconds > UINT32_MAX)
        return Usage("--machine-deadline '" + *v + "' is a duration: 0, 3600, 90m, 24h, 7d");
      spec->set_machine_deadline_seconds(static_cast<uint32_t>(*seconds));
    }
    spec->set_allow_unsigned(a.Has("--allow-unsigned"));
    grpc::ClientContext context;
    deadline(context);
    v1::CreateRolloutResponse response;
    auto s = stub->CreateRollout(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(response) << "\n";
    else
      PrintRollout(response.rollout());
    return 0;
  }
  if (command == "rollout list") {
    grpc::ClientContext context;
    deadline(context);
    v1::ListRolloutsResponse response;
    auto s = stub->ListRollouts(&context, v1::ListRolloutsRequest(), &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : response.rollouts()) {
      const auto& p = r.progress();
      rows.push_back({std::to_string(r.id()), r.spec().image_version(), StateName(r.state()),
                      std::to_string(p.succeeded()) + "/" + std::to_string(p.targeted()),
                      std::to_string(p.failed()), std::to_string(p.in_progress()), r.created_at()});
    }
    Table({"ID", "IMAGE", "STATE", "DONE", "FAILED", "RUNNING", "CREATED"}, rows);
    return 0;
  }
  if (command == "rollout show" || command == "rollout pause" || command == "rollout resume" ||
      command == "rollout abort" || command == "rollout rollback") {
    auto id = id_arg();
    if (!id) return Usage(command + " needs a rollout ID (a number)");
    grpc::ClientContext context;
    deadline(context);
    v1::Rollout rollout;
    grpc::Status s;
    const std::string verb = a.positional[1];
    if (verb == "show") {
      v1::GetRolloutRequest q;
      q.set_id(*id);
      v1::GetRolloutResponse r;
      s = stub->GetRollout(&context, q, &r);
      rollout = r.rollout();
    } else if (verb == "pause") {
      v1::PauseRolloutRequest q;
      q.set_id(*id);
      v1::PauseRolloutResponse r;
      s = stub->PauseRollout(&context, q, &r);
      rollout = r.rollout();
    } else if (verb == "resume") {
      v1::ResumeRolloutRequest q;
      q.set_id(*id);
      v1::ResumeRolloutResponse r;
      s = stub->ResumeRollout(&context, q, &r);
      rollout = r.rollout();
    } else if (verb == "abort") {
      v1::AbortRolloutRequest q;
      q.set_id(*id);
      v1::AbortRolloutResponse r;
      s = stub->AbortRollout(&context, q, &r);
      rollout = r.rollout();
    } else {
      v1::RollbackRolloutRequest q;
      q.set_id(*id);
      v1::RollbackRolloutResponse r;
      s = stub->RollbackRollout(&context, q, &r);
      rollout = r.rollout();
    }
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(rollout) << "\n";
    else
      PrintRollout(rollout);
    return 0;
  }
  if (command == "machine list") {
    v1::ListMachinesRequest request;
    for (auto [it, end] = a.values.equal_range("--label"); it != end; ++it) {
      std::string k, v;
      if (!Label(it->second, k, v)) return Usage("--label '" + it->second + "' is not KEY=VALUE");
      (*request.mutable_labels())[k] = v;
    }
    grpc::ClientContext context;
    deadline(context);
    v1::ListMachinesResponse response;
    auto s = stub->ListMachines(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : response.machines()) {
      rows.push_back({m.id(), m.hostname(),
                      m.installed_version().empty() ? "-" : m.installed_version(),
                      AgentStateText(m.state()) + (m.offline() ? ", offline" : ""),
                      m.current_step(), m.last_seen()});
    }
    Table({"ID", "HOSTNAME", "VERSION", "STATE", "STEP", "LAST SEEN"}, rows);
    return 0;
  }
  if (command == "machine show") {
    if (!need(1, "a machine ID")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::GetMachineRequest request;
    request.set_id(rest[0]);
    v1::GetMachineResponse response;
    auto s = stub->GetMachine(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    const auto& m = response.machine();
    std::cout << "machine " << m.id() << " (" << m.hostname() << ")\n  version    "
              << (m.installed_version().empty() ? "none" : m.installed_version())
              << "\n  state      " << AgentStateText(m.state())
              << (m.current_step().empty() ? "" : " (" + m.current_step() + ")")
              << "\n  last seen  " << m.last_seen() << (m.offline() ? " (offline)" : "")
              << "\n  labels    ";
    for (const auto& [k, v] : m.labels()) std::cout << " " << k << "=" << v;
    std::cout << "\n";
    for (const auto& at : response.attempts()) {
      std::cout << "\nattempt " << at.id() << " (rollout " << at.rollout_id() << ", image "
                << at.image_version() << "): " << at.state() << ", started " << at.started_at()
                << (at.finished_at().empty() ? "" : ", finished " + at.finished_at()) << "\n";
      if (!at.error().empty()) std::cout << "  error: " << at.error() << "\n";
      for (const auto& e : at.events()) {
        std::cout << "  " << e.sequence() << ". " << e.step() << " "
                  << v1::StepEvent::Status_Name(e.status())
                  << (e.bytes_total() ? " " + Size(e.bytes_done()) + "/" + Size(e.bytes_total())
                                      : "")
                  << (e.message().empty() ? "" : ": " + e.message()) << "\n";
      }
    }
    return 0;
  }
  if (command == "machine boot-recovery") {
    if (!need(1, "a machine ID")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::RequestBootRecoveryRequest request;
    request.set_machine_id(rest[0]);
    v1::RequestBootRecoveryResponse response;
    auto s = stub->RequestBootRecovery(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(response) << "\n";
    else
      std::cout << "requested: " << rest[0]
                << " boots into Lifeboat once, after its agent next calls in\n";
    return 0;
  }
  if (command == "token create") {
    if (!rest.empty()) return Usage("token create takes options only");
    v1::CreateEnrollmentTokenRequest request;
    for (auto [it, end] = a.values.equal_range("--label"); it != end; ++it) {
      std::string key, value;
      if (!Label(it->second, key, value)) return Usage("--label needs KEY=VALUE");
      (*request.mutable_labels())[key] = value;
    }
    if (auto expires = a.Value("--expires")) {
      auto seconds = Duration(*expires);
      if (!seconds || *seconds == 0) return Usage("--expires is a duration: 3600, 90m, 24h, 7d");
      request.set_expires_seconds(static_cast<uint32_t>(*seconds));
    }
    grpc::ClientContext context;
    deadline(context);
    v1::CreateEnrollmentTokenResponse response;
    auto s = stub->CreateEnrollmentToken(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(response) << "\n";
    else
      std::cout << "enrollment token, for one agent, until " << response.expires_at()
                << " (put it in the agent's config as enrollment_token):\n"
                << response.token() << "\n";
    return 0;
  }
  if (command == "machine revoke") {
    if (!need(1, "a machine ID")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::RevokeMachineRequest request;
    request.set_machine_id(rest[0]);
    v1::RevokeMachineResponse response;
    auto s = stub->RevokeMachine(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (!json)
      std::cout << "revoked: the controller refuses " << rest[0] << " from now on\n";
    else
      std::cout << "{}\n";
    return 0;
  }
  if (command == "audit list") {
    grpc::ClientContext context;
    deadline(context);
    v1::ListAuditRequest request;
    if (auto limit = a.Value("--limit")) {
      auto n = Number(*limit);
      if (!n || *n == 0 || *n > 10000) return Usage("--limit is a number from 1 to 10000");
      request.set_limit(static_cast<uint32_t>(*n));
    }
    v1::ListAuditResponse response;
    auto s = stub->ListAudit(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : response.entries()) {
      std::string detail = e.detail().size() > 60 ? e.detail().substr(0, 57) + "..." : e.detail();
      rows.push_back({std::to_string(e.id()), e.at(), e.who().empty() ? "-" : e.who(), e.action(),
                      e.target(), e.outcome(), e.peer(), detail});
    }
    Table({"ID", "AT", "WHO", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL"}, rows);
    return 0;
  }
  if (command == "operator add") {
    if (!need(1, "NAME")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::CreateOperatorRequest request;
    request.set_name(rest[0]);
    request.set_role(a.Value("--role").value_or(""));
    v1::CreateOperatorResponse response;
    auto s = stub->CreateOperator(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (json)
      std::cout << Json(response) << "\n";
    else
      std::cout << "operator " << response.operator_().name() << " (" << response.operator_().role()
                << "); their token, shown only now:\n"
                << response.token() << "\n";
    return 0;
  }
  if (command == "operator list") {
    grpc::ClientContext context;
    deadline(context);
    v1::ListOperatorsResponse response;
    auto s = stub->ListOperators(&context, v1::ListOperatorsRequest(), &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& op : response.operators())
      rows.push_back({op.name(), op.role(), op.created_at()});
    Table({"NAME", "ROLE", "CREATED"}, rows);
    return 0;
  }
  if (command == "operator remove") {
    if (!need(1, "NAME")) return 2;
    grpc::ClientContext context;
    deadline(context);
    v1::RemoveOperatorRequest request;
    request.set_name(rest[0]);
    v1::RemoveOperatorResponse response;
    auto s = stub->RemoveOperator(&context, request, &response);
    if (!s.ok()) return Fail(s, json);
    if (!json) std::cout << "removed operator " << rest[0] << "\n";
    return 0;
  }
  if (command == "fleet summary") {
    grpc::ClientContext context;
    deadline(context);
    v1::GetFleetSummaryResponse response;
    auto s = stub->GetFleetSummary(&context, v1::GetFleetSummaryRequest(), &response);
    if (!s.ok()) return Fail(s, json);
    if (json) {
      std::cout << Json(response) << "\n";
      return 0;
    }
    std::cout << response.machines() << " machines (" << response.offline() << " offline), "
              << response.active_rollouts() << " unfinished rollouts\n";
    std::map<std::string, uint32_t> by_state(response.by_state().begin(),
                                             response.by_state().end());
    std::map<std::string, uint32_t> by_version(response.by_version().begin(),
                                               response.by_version().end());
    std::cout << "by state:  ";
    for (const auto& [k, v] : by_state) std::cout << " " << k << "=" << v;
    std::cout << "\nby version:";
    for (const auto& [k, v] : by_version) std::cout << " " << (k.empty() ? "none" : k) << "=" << v;
    std::cout << "\n";
    return 0;
  }
  return Usage("unknown command '" + command + "'");
}
