// `lifeboat-agent bcd show` and `bcd boot-once`.
#pragma once

#include <string>

namespace lifeboat::agent {

struct BcdOptions {
  std::string target;  // show: a BCD store file or a disk; boot-once: a disk
  bool json = false;
  std::string state_dir = "/var/lib/lifeboat";
  int lock_wait_seconds = 600;
};

// Decodes every object and element of a store, named the way bcdedit names them.
int BcdShow(const BcdOptions& options);
// Makes the next boot (only) start Lifeboat's entry: {bootmgr} bootsequence.
int BcdBootOnce(const BcdOptions& options);

}  // namespace lifeboat::agent
