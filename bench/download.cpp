// Times the agent's image download (agent/contact/controller_client.h: a gRPC stream of chunks; the
// file's running SHA-256 is checked after each chunk, before it is written, and at the end is the
// whole image's), for bench/download_vs_curl.sh. Like a real agent it shows its own client
// certificate, enrolling with TOKEN the first time (agent/contact/enrollment.h; kept in STATE_DIR).
//   lifeboat-bench-download CONTROLLER CA.pem STATE_DIR TOKEN SHA256 OUT
// prints the seconds the download took (enrollment not counted).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "agent/contact/controller_client.h"
#include "agent/contact/daemon_state.h"
#include "agent/contact/enrollment.h"
#include "common/sha256.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: lifeboat-bench-download CONTROLLER CA.pem STATE_DIR TOKEN SHA256 OUT\n";
    return 2;
  }
  std::ifstream ca(argv[2]);
  if (!ca) {
    std::cerr << "cannot read " << argv[2] << "\n";
    return 2;
  }
  lifeboat::agent::ClientTls tls;
  tls.ca_pem = std::string{std::istreambuf_iterator<char>(ca), {}};
  lifeboat::agent::DaemonConfig config;
  config.controller = argv[1];
  config.state_dir = argv[3];
  config.enrollment_token = argv[4];
  auto state = lifeboat::agent::DaemonState::Open(config.state_dir + "/daemon.db");
  std::map<std::string, std::string> labels;
  auto enrolled = state ? lifeboat::agent::LoadOrEnroll(config, "bench-download", **state, tls,
                                                        labels, [](double) { return false; })
                        : lifeboat::Result<void>(std::unexpected(state.error()));
  if (!enrolled) {
    std::cerr << enrolled.error().message << "\n";
    return 1;
  }
  const std::string sha256 = argv[5];
  const auto start = std::chrono::steady_clock::now();
  lifeboat::agent::ControllerClient client(argv[1], tls);
  int fd = open(argv[6], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 1;
  lifeboat::Sha256 whole;
  auto got = client.Download(sha256, 0, fd, whole, {});
  fsync(fd);
  close(fd);
  if (!got) {
    std::cerr << got.error().message << "\n";
    return 1;
  }
  if (whole.HexDigest() != sha256) {
    std::cerr << "the downloaded file does not match its SHA-256\n";
    return 1;
  }
  std::printf("%.3f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
