// The network boot tree over plain HTTP, read-only: what GRUB (built with its http module) loads
// faster than over TFTP, and what a network loader fetching a large file in pieces needs
// (single byte ranges). GRUB speaks no TLS, so this is HTTP; it serves exactly the files TFTP
// serves from the same tree, and nothing else: no folder listings, no path out of the tree (".."
// or a symbolic link leading out of it are refused), GET and HEAD only.
//
// A file is opened once per request and sent from that open file: a file replaced by a rename
// while it is being sent (a new version of the tree) reaches that client whole and old.
// Poco::Net is used here and in http_api.cpp only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"

namespace Poco::Net {
class HTTPServer;
}

namespace lifeboat::controller {

// The part of a file a Range header asks for ("bytes=FIRST-LAST", "bytes=FIRST-", "bytes=-SUFFIX"),
// given the file's size: nullopt to send the whole file (no header, a form this server does not
// serve, such as several ranges); kInvalidArgument when the range starts at or beyond the end
// (416).
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
[[nodiscard]] Result<std::optional<ByteRange>> ParseByteRange(const std::string& header,
                                                              uint64_t size);

// The file under `root` that the request path names (percent-decoding done), or kNotFound: a
// folder, a missing file, or a path that leaves the tree (kPermissionDenied).
[[nodiscard]] Result<std::string> ResolveTreePath(const std::string& root,
                                                  const std::string& request_path);

class NetbootHttp {
 public:
  // Serves the folder `root` on "host:port" (port 0 picks a free one). Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<NetbootHttp>> Start(const std::string& listen,
                                                                  const std::string& root);
  ~NetbootHttp();
  [[nodiscard]] int port() const { return port_; }

 private:
  NetbootHttp() = default;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace lifeboat::controller
