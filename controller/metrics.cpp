#include "controller/metrics.h"

#include <chrono>
#include <cstdio>
#include <sstream>

namespace lifeboat::controller {

namespace {

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, RpcMetrics& metrics)
      : method_(info->method()), metrics_(metrics), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_);
      metrics_.Record(method_, static_cast<int>(methods->GetSendStatus().error_code()),
                      elapsed.count());
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  RpcMetrics& metrics_;
  std::chrono::steady_clock::time_point start_;
};

std::string Number(double v) {
  char out[32];
  std::snprintf(out, sizeof out, "%.9g", v);
  return out;
}

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(info, metrics_);
}

void RpcMetrics::Record(const std::string& method, int code, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, code}];
  Histogram& h = durations_[method];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string RpcMetrics::Prometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP lifeboat_rpc_requests_total gRPC calls served, by method and status code.\n"
      << "# TYPE lifeboat_rpc_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out << "lifeboat_rpc_requests_total{method=\"" << key.first << "\",code=\"" << key.second
        << "\"} " << n << "\n";
  }
  out << "# HELP lifeboat_rpc_duration_seconds Time to serve a gRPC call, by method.\n"
      << "# TYPE lifeboat_rpc_duration_seconds histogram\n";
  for (const auto& [method, h] : durations_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << "lifeboat_rpc_duration_seconds_bucket{method=\"" << method << "\",le=\""
          << Number(kBuckets[i]) << "\"} " << h.buckets[i] << "\n";
    }
    out << "lifeboat_rpc_duration_seconds_bucket{method=\"" << method << "\",le=\"+Inf\"} "
        << h.count << "\n"
        << "lifeboat_rpc_duration_seconds_sum{method=\"" << method << "\"} " << Number(h.sum)
        << "\n"
        << "lifeboat_rpc_duration_seconds_count{method=\"" << method << "\"} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace lifeboat::controller
