// Times Lifeboat's image write into an NTFS volume (image/ntfs_volume.h: mount with libntfs-3g,
// allocate, write while hashing the source, flush, unmount), for bench/image_write_vs_dd.sh.
//   lifeboat-bench-write DEVICE FILE   -> prints the seconds it took
#include <chrono>
#include <cstdio>
#include <iostream>

#include "image/ntfs_volume.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: lifeboat-bench-write DEVICE FILE\n";
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto volume =
      lifeboat::image::NtfsVolume::Open(argv[1], lifeboat::image::NtfsVolume::Mode::kReadWrite);
  if (!volume) {
    std::cerr << volume.error().message << "\n";
    return 1;
  }
  if (auto r = (*volume)->MakeDirectories("\\Recovery\\Lifeboat\\bench"); !r) {
    std::cerr << r.error().message << "\n";
    return 1;
  }
  auto written = (*volume)->CopyIn(argv[2], "\\Recovery\\Lifeboat\\bench\\boot.wim", {});
  if (!written) {
    std::cerr << written.error().message << "\n";
    return 1;
  }
  if (auto r = (*volume)->Close(); !r) {
    std::cerr << r.error().message << "\n";
    return 1;
  }
  std::printf("%.3f\n", std::chrono::duration<double>(Clock::now() - start).count());
  return 0;
}
