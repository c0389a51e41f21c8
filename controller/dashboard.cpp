#include "controller/dashboard.h"

namespace lifeboat::controller {

std::optional<DashboardAsset> FindDashboardAsset(const std::string& path) {
  if (!path.starts_with("/ui/")) return std::nullopt;
  std::string name = path.substr(4);
  if (name.empty()) name = "index.html";
  for (const auto& file : EmbeddedFiles()) {
    if (file.name != name) continue;
    const std::string_view type = name.ends_with(".html")  ? "text/html; charset=utf-8"
                                  : name.ends_with(".js")  ? "text/javascript; charset=utf-8"
                                  : name.ends_with(".css") ? "text/css; charset=utf-8"
                                                           : "application/octet-stream";
    return DashboardAsset{type, file.bytes};
  }
  return std::nullopt;
}

}  // namespace lifeboat::controller
