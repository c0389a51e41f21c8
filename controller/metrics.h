// Counters and latency histograms of every gRPC call, by method and status code, filled by a
// server interceptor and printed in the Prometheus text format. Thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <map>
#include <mutex>
#include <string>

namespace lifeboat::controller {

class RpcMetrics {
 public:
  void Record(const std::string& method, int code, double seconds);
  // lifeboat_rpc_requests_total and lifeboat_rpc_duration_seconds (histogram).
  [[nodiscard]] std::string Prometheus() const;

  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
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
