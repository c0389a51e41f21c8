// lifeboatctl key generate: a signing key pair for images. Local; no controller needed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "common/cli.h"
#include "common/ed25519.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

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

int Generate(const std::string& prefix, bool json) {
  auto pair = GenerateSigningKey();
  if (!pair) return Complain(pair.error(), 1);
  auto id = KeyId(pair->public_pem);
  const std::string private_path = prefix + ".key", public_path = prefix + ".pub";
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

}  // namespace

void AddKeyCommands(CLI::App& app, Context& ctx) {
  auto* key = AddGroup(app, "key", "image signing keys (local; no controller needed): generate");
  auto prefix = std::make_shared<std::string>();
  auto* generate = AddCommand(*key, "generate", "a new Ed25519 key pair for signing images",
                              "Writes PREFIX.key (private, mode 0600, never overwritten) and "
                              "PREFIX.pub (public: agents list it in trusted_keys).");
  generate->add_option("--out", *prefix, "where to write the pair")
      ->required()
      ->type_name("PREFIX");
  generate->add_flag_callback(
      "--json",
      [&ctx] {
        ctx.json = true;
        PrintErrorsAsJson(true);
      },
      "print the key's id and files as JSON");
  generate->callback([&ctx, prefix] { ctx.exit_code = Generate(*prefix, ctx.json); });
}

}  // namespace lifeboat::ctl
