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
  const std::string total = prefix_ + "_requests_total", duration = prefix_ + "_duration_seconds";
  out << "# HELP " << total << " " << what_ << " served, by " << key_ << " and status code.\n"
      << "# TYPE " << total << " counter\n";
  for (const auto& [k, n] : requests_) {
    out << total << "{" << key_ << "=\"" << k.first << "\",code=\"" << k.second << "\"} " << n
        << "\n";
  }
  out << "# HELP " << duration << " Time to serve " << what_ << ", by " << key_ << ".\n"
      << "# TYPE " << duration << " histogram\n";
  for (const auto& [name, h] : durations_) {
    const std::string label = key_ + "=\"" + name + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << duration << "_bucket{" << label << ",le=\"" << Number(kBuckets[i]) << "\"} "
          << h.buckets[i] << "\n";
    }
    out << duration << "_bucket{" << label << ",le=\"+Inf\"} " << h.count << "\n"
        << duration << "_sum{" << label << "} " << Number(h.sum) << "\n"
        << duration << "_count{" << label << "} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace lifeboat::controller
