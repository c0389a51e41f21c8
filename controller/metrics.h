// Counters and latency histograms of requests, by what was asked and the status code, printed in
// the Prometheus text format: every gRPC call (filled by a server interceptor, by method) and
// every HTTP request (by path, its ids written as {id}). Thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <map>
#include <mutex>
#include <string>

namespace lifeboat::controller {

class RpcMetrics {
 public:
  // `prefix`_requests_total{`key`=...,code=...} and `prefix`_duration_seconds{`key`=...}; `what`
  // says what is counted, for the HELP lines.
  explicit RpcMetrics(std::string prefix = "lifeboat_rpc", std::string key = "method",
                      std::string what = "gRPC calls")
      : prefix_(std::move(prefix)), key_(std::move(key)), what_(std::move(what)) {}
  void Record(const std::string& method, int code, double seconds);
  [[nodiscard]] std::string Prometheus() const;

  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  const std::string prefix_, key_, what_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
};

// Makes one interceptor per call that records the call's method, status and duration.
class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(RpcMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcMetrics& metrics_;
};

}  // namespace lifeboat::controller
