// What every lifeboatctl command shares: the options that say which controller to reach and
// how (--controller, --ca, --token-file, --json), the connection made from them, and the exit
// code the command leaves.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "ctl/output.h"
#include "lifeboat/v1/admin_service.grpc.pb.h"

namespace lifeboat::ctl {

struct Context {
  std::string controller;  // default: $LIFEBOAT_CONTROLLER, else 127.0.0.1:7443
  std::string ca;          // default: $LIFEBOAT_CA, else /etc/lifeboat/ca.pem
  std::string token_file;  // default: $LIFEBOAT_TOKEN_FILE (unset when empty)
  bool json = false;
  int exit_code = 0;

  // Adds --controller, --ca, --token-file and --json to `command` (the program itself, and each
  // command, so that they may stand before or after it).
  void AddConnectionOptions(CLI::App* command);
  // The AdminService stub, connected on first use with TLS and the operator's token. Nothing
  // when the CA certificate or the token cannot be read: the problem is printed and exit_code
  // set to 2.
  v1::AdminService::Stub* Stub();
  // A context for one call, with the deadline every call gets.
  static std::unique_ptr<grpc::ClientContext> Call();

  // One call of the controller: prints its response (as JSON with --json: the response, or what
  // `to_json` makes of it; else through `print`) or its failure; returns the exit code.
  template <typename Request, typename Response>
  int Run(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                         Response*),
          const Request& request, const std::function<void(const Response&)>& print,
          const std::function<std::string(const Response&)>& to_json = {}) {
    auto* stub = Stub();
    if (stub == nullptr) return exit_code;
    Response response;
    const grpc::Status status = (stub->*method)(Call().get(), request, &response);
    if (!status.ok()) return Fail(status, json);
    if (json)
      std::cout << (to_json ? to_json(response) : Json(response)) << "\n";
    else
      print(response);
    return 0;
  }

 private:
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace lifeboat::ctl
