// Times the agent's image download (agent/controller_client.h: a gRPC stream of chunks; the
// file's running SHA-256 is checked after each chunk, before it is written, and at the end is the
// whole image's), for bench/download_vs_curl.sh.
//   lifeboat-bench-download CONTROLLER CA.pem SHA256 OUT   -> prints the seconds it took
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "agent/controller_client.h"
#include "common/sha256.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: lifeboat-bench-download CONTROLLER CA.pem SHA256 OUT\n";
    return 2;
  }
  std::ifstream ca(argv[2]);
  if (!ca) {
    std::cerr << "cannot read " << argv[2] << "\n";
    return 2;
  }
  const std::string sha256 = argv[3];
  const auto start = std::chrono::steady_clock::now();
  lifeboat::agent::ClientTls tls;
  tls.ca_pem = std::string{std::istreambuf_iterator<char>(ca), {}};
  lifeboat::agent::ControllerClient client(argv[1], tls);
  int fd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
