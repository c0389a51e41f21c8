// A real lifeboat-controller process for end-to-end tests, and lifeboatctl run against it.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/test_support.h"

namespace lifeboat::test {

// A controller process on a free port, killed when the object goes.
class ControllerProcess {
 public:
  // `flags`: more of the controller's options.
  explicit ControllerProcess(const std::string& data_dir, std::string flags = "")
      : data_dir_(data_dir), flags_(std::move(flags)) {
    Start();
  }
  ~ControllerProcess() { Kill(); }
  void Start() {
    log_ = data_dir_ + ".log";
    auto r = Sh(Quote(LIFEBOAT_CONTROLLER) + " --listen 127.0.0.1:0 --http off --data-dir " +
                Quote(data_dir_) + " " + flags_ + " > " + Quote(log_) + " 2>&1 & echo $!");
    pid_ = std::stoi(r.out);
    for (int i = 0; i < 100 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(log_);
      std::string line;
      while (std::getline(in, line)) {
        auto at = line.find("on port ");
        if (at != std::string::npos) port_ = std::stoi(line.substr(at + 8));
      }
    }
  }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Sh("while kill -0 " + std::to_string(pid_) + " 2>/dev/null; do sleep 0.05; done");
    }
    pid_ = 0;
    port_ = 0;
  }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }
  [[nodiscard]] std::string Log() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

 private:
  std::string data_dir_, flags_, log_;
  int pid_ = 0;
  int port_ = 0;
};

inline CommandResult Ctl(const ControllerProcess& c, const std::string& args) {
  return Sh(Quote(LIFEBOAT_CTL) + " --controller " + c.address() + " --ca " +
            Quote(c.data_dir() + "/ca.pem") + " --token-file " +
            Quote(c.data_dir() + "/admin.token") + " " + args);
}

}  // namespace lifeboat::test
