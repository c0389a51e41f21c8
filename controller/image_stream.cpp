#include "controller/image_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace lifeboat::controller {

grpc::Status StreamImage(const ImageCatalog& catalog, const ImageRecord& image, uint64_t offset,
                         grpc::ServerContext* context,
                         grpc::ServerWriter<v1::DownloadImageResponse>* writer) {
  if (offset > image.size) {
    return {grpc::StatusCode::OUT_OF_RANGE, "offset: " + std::to_string(offset) +
                                                " is beyond the image's " +
                                                std::to_string(image.size) + " bytes"};
  }
  const int fd = open(image.blob_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {grpc::StatusCode::INTERNAL, "the image's bytes are missing from the controller"};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  bool first = true;
  v1::DownloadImageResponse message;
  do {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "the client went away"};
    const uint64_t end = std::min<uint64_t>(
        offset / ImageCatalog::kChunkBytes * ImageCatalog::kChunkBytes + ImageCatalog::kChunkBytes,
        image.size);
    const size_t n = static_cast<size_t>(end - offset);
    // Read straight into the message: one copy fewer per chunk.
    std::string& data = *message.mutable_data();
    data.resize(n);
    for (size_t got = 0; got < n;) {
      ssize_t r = pread(fd, data.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r <= 0) return {grpc::StatusCode::INTERNAL, "reading the image failed"};
      got += static_cast<size_t>(r);
    }
    message.set_offset(offset);
    auto prefix = catalog.PrefixHash(image, end);  // computed at publish
    if (!prefix)
      return {grpc::StatusCode::INTERNAL,
              "the image's prefix hashes are missing from the controller"};
    message.set_prefix_sha256(*prefix);
    // Fault injection for the tests: LIFEBOAT_TEST_CORRUPT_CHUNK=1 damages one chunk in transit,
    // once per controller process, after its hash was taken.
    static std::atomic<bool> corrupted{false};
    if (std::getenv("LIFEBOAT_TEST_CORRUPT_CHUNK") && !corrupted.exchange(true) && n > 0) {
      (*message.mutable_data())[n / 2] ^= 0x5a;
    }
    if (first) {
      message.set_total_bytes(image.size);
      message.set_sha256(image.sha256);
      first = false;
    } else {
      message.clear_total_bytes();
      message.clear_sha256();
    }
    if (!writer->Write(message)) return {grpc::StatusCode::CANCELLED, "the client went away"};
    offset += n;
  } while (offset < image.size);
  return grpc::Status::OK;
}

}  // namespace lifeboat::controller
