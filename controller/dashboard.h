// The web dashboard: a page and its script and style (controller/dashboard/), built into the
// controller and served by its HTTPS side under /ui/. The page reads the same /api/v1 JSON as
// any tool and acts through its POSTs, with the operator's token (docs/dashboard.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::controller {

struct EmbeddedFile {
  std::string_view name;  // "app.js"
  std::string_view bytes;
};
// The dashboard's files, generated at build time by cmake/embed_files.cmake.
const std::vector<EmbeddedFile>& EmbeddedFiles();

struct DashboardAsset {
  std::string_view content_type;
  std::string_view bytes;
};
// The file served at `path` ("/ui/", "/ui/app.js"), or none.
std::optional<DashboardAsset> FindDashboardAsset(const std::string& path);

// Headers every dashboard answer carries: the page runs only its own script and style, is never
// framed, sends no referrer, and its answers are not sniffed for another type.
inline constexpr std::pair<const char*, const char*> kDashboardHeaders[] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cache-Control", "no-cache"},
};

}  // namespace lifeboat::controller
