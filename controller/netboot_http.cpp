#include "controller/netboot_http.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

namespace lifeboat::controller {

namespace fs = std::filesystem;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

// A decimal number that is the whole of `text`.
std::optional<uint64_t> Number(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<std::optional<ByteRange>> ParseByteRange(const std::string& header, uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.rfind(kUnit, 0) != 0) return std::nullopt;
  const std::string_view spec = std::string_view(header).substr(kUnit.size());
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos)
    return std::nullopt;  // several ranges, or not a range: the whole file (RFC 9110 allows it)
  const auto first = Number(spec.substr(0, dash));
  const auto last = Number(spec.substr(dash + 1));
  if (!first) {  // "-SUFFIX": the last SUFFIX bytes
    if (!last || *last == 0 || dash != 0) return std::nullopt;
    const uint64_t length = std::min(*last, size);
    if (length == 0) return Fail(ErrorCode::kInvalidArgument, "the file is empty");
    return ByteRange{size - length, length};
  }
  if (*first >= size)
    return Fail(ErrorCode::kInvalidArgument, "the range starts at or after the end of the file");
  if (spec.size() == dash + 1) return ByteRange{*first, size - *first};  // "FIRST-"
  if (!last || *last < *first) return std::nullopt;
  return ByteRange{*first, std::min(*last, size - 1) - *first + 1};
}

Result<std::string> ResolveTreePath(const std::string& root, const std::string& request_path) {
  std::string path;
  try {
    Poco::URI::decode(request_path, path);
  } catch (const Poco::Exception&) {
    return Fail(ErrorCode::kNotFound, "not a path");
  }
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos)
    return Fail(ErrorCode::kNotFound, "not a path");
  for (const auto& part : fs::path(path))
    if (part == "..") return Fail(ErrorCode::kPermissionDenied, "a path may not contain ..");
  std::error_code ec;
  const fs::path tree = fs::canonical(root, ec);
  if (ec) return Fail(ErrorCode::kNotFound, "the tree is missing");
  // Symbolic links are followed, and what they lead to must still be in the tree.
  const fs::path file = fs::canonical(tree / fs::path(path).relative_path(), ec);
  if (ec) return Fail(ErrorCode::kNotFound, "no such file");
  const auto [end, _] = std::mismatch(tree.begin(), tree.end(), file.begin(), file.end());
  if (end != tree.end()) return Fail(ErrorCode::kPermissionDenied, "outside the tree");
  if (!fs::is_regular_file(file, ec)) return Fail(ErrorCode::kNotFound, "not a file");
  return file.string();
}

namespace {

void SendStatus(HTTPServerResponse& response, HTTPResponse::HTTPStatus status) {
  const std::string body = response.getReasonForStatus(status) + "\n";
  response.setStatus(status);
  response.setContentType("text/plain");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

class FileHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit FileHandler(std::string root) : root_(std::move(root)) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    const bool head = request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
    if (!head && request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET) {
      response.set("Allow", "GET, HEAD");
      return SendStatus(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
    }
    std::string target = request.getURI();
    target = target.substr(0, target.find('?'));
    auto file = ResolveTreePath(root_, target);
    if (!file)
      return SendStatus(response, file.error().code == ErrorCode::kPermissionDenied
                                      ? HTTPResponse::HTTP_FORBIDDEN
                                      : HTTPResponse::HTTP_NOT_FOUND);
    const int fd = open(file->c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0) close(fd);
      return SendStatus(response, HTTPResponse::HTTP_NOT_FOUND);
    }
    Send(fd, static_cast<uint64_t>(st.st_size), request, response, head);
    close(fd);
  }

 private:
  static void Send(int fd, uint64_t size, HTTPServerRequest& request, HTTPServerResponse& response,
                   bool head) {
    response.set("Accept-Ranges", "bytes");
    response.setContentType("application/octet-stream");
    ByteRange part{0, size};
    if (request.has("Range")) {
      auto range = ParseByteRange(request.get("Range"), size);
      if (!range) {
        response.set("Content-Range", "bytes */" + std::to_string(size));
        return SendStatus(response, HTTPResponse::HTTP_REQUESTED_RANGE_NOT_SATISFIABLE);
      }
      if (*range) {
        part = **range;
        response.setStatus(HTTPResponse::HTTP_PARTIAL_CONTENT);
        response.set("Content-Range", "bytes " + std::to_string(part.first) + "-" +
                                          std::to_string(part.first + part.length - 1) + "/" +
                                          std::to_string(size));
      }
    }
    response.setContentLength64(part.length);
    if (head) {
      response.send();
      return;
    }
    std::ostream& out = response.send();
    std::vector<char> buffer(256 * 1024);
    uint64_t offset = part.first, left = part.length;
    while (left > 0 && out) {
      const ssize_t n = pread(fd, buffer.data(), std::min<uint64_t>(left, buffer.size()),
                              static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the file shrank: the client sees a short body and retries
      out.write(buffer.data(), n);
      offset += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
    }
  }

  std::string root_;
};

class FileHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit FileHandlerFactory(std::string root) : root_(std::move(root)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new FileHandler(root_);
  }

 private:
  std::string root_;
};

}  // namespace

Result<std::unique_ptr<NetbootHttp>> NetbootHttp::Start(const std::string& listen,
                                                        const std::string& root) {
  try {
    std::unique_ptr<NetbootHttp> http(new NetbootHttp);
    Poco::Net::ServerSocket socket{Poco::Net::SocketAddress(listen), 64};
    http->port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    // Machines booting at once each hold a connection for their kernel and initrd.
    params->setMaxThreads(16);
    params->setKeepAlive(true);
    http->server_ =
        std::make_unique<Poco::Net::HTTPServer>(new FileHandlerFactory(root), socket, params);
    http->server_->start();
    return http;
  } catch (const Poco::Exception& e) {
    return Fail(ErrorCode::kIo,
                "netboot HTTP: cannot listen on " + listen + ": " + e.displayText());
  }
}

NetbootHttp::~NetbootHttp() {
  if (server_) server_->stopAll(true);
}

}  // namespace lifeboat::controller
