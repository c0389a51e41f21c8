#include "image/extent_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>

#include "common/sha256.h"

namespace lifeboat::image {

namespace {

// One read and one write: `length` bytes of the file, `padded` up to a whole sector on the device.
struct Chunk {
  int64_t file_offset;
  int64_t device_offset;
  size_t length;
  size_t padded;
};

std::vector<Chunk> SplitIntoChunks(const std::vector<Extent>& extents, size_t sector_size) {
  std::vector<Chunk> chunks;
  for (const Extent& e : extents) {
    for (int64_t at = 0; at < e.length;) {
      const auto n = static_cast<size_t>((std::min<int64_t>)(e.length - at, kExtentChunk));
      chunks.push_back({e.file_offset + at, e.device_offset + at, n,
                        (n + sector_size - 1) / sector_size * sector_size});
      at += static_cast<int64_t>(n);
    }
  }
  return chunks;
}

// Memory aligned for O_DIRECT, one chunk long.
struct AlignedBuffer {
  std::unique_ptr<uint8_t, decltype(&free)> bytes{
      static_cast<uint8_t*>(aligned_alloc(4096, kExtentChunk)), &free};
};

std::string ErrnoText(int e) { return std::strerror(e); }

// Reads exactly `size` bytes at `offset` (a read may return less).
Result<void> ReadFully(int fd, uint8_t* into, size_t size, int64_t offset,
                       const std::string& what) {
  for (size_t got = 0; got < size;) {
    ssize_t n = pread(fd, into + got, size - got, offset + static_cast<int64_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(ErrorCode::kIo, what + ": read at byte " +
                                      std::to_string(offset + static_cast<int64_t>(got)) + ": " +
                                      (n == 0 ? "the data ends early" : ErrnoText(errno)));
    }
    got += static_cast<size_t>(n);
  }
  return {};
}

Result<void> WriteFully(int fd, const uint8_t* from, size_t size, int64_t offset,
                        const std::string& what) {
  for (size_t put = 0; put < size;) {
    ssize_t n = pwrite(fd, from + put, size - put, offset + static_cast<int64_t>(put));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(ErrorCode::kIo, what + ": write at device byte " +
                                      std::to_string(offset + static_cast<int64_t>(put)) + ": " +
                                      (n == 0 ? "nothing written" : ErrnoText(errno)));
    }
    put += static_cast<size_t>(n);
  }
  return {};
}

// Runs `work(i, buffer)` for each chunk in order, `fetch(i, buffer)` of the next chunk on another
// thread meanwhile: the two alternate between two buffers. A fetch's result is taken before the
// chunk it filled is worked on, so fetches (and whatever they hash) happen in order.
Result<void> Pipeline(size_t count, const std::function<Result<void>(size_t, uint8_t*)>& fetch,
                      const std::function<Result<void>(size_t, const uint8_t*)>& work) {
  if (count == 0) return {};
  AlignedBuffer buffers[2];
  if (!buffers[0].bytes || !buffers[1].bytes)
    return Fail(ErrorCode::kIo, "out of memory for the copy buffers");
  LIFEBOAT_TRY(fetch(0, buffers[0].bytes.get()));
  for (size_t i = 0; i < count; ++i) {
    // Declared after the buffers: leaving early, its destructor waits for the fetch in flight.
    std::future<Result<void>> next;
    if (i + 1 < count)
      next = std::async(std::launch::async, fetch, i + 1, buffers[(i + 1) % 2].bytes.get());
    LIFEBOAT_TRY(work(i, buffers[i % 2].bytes.get()));
    if (next.valid()) LIFEBOAT_TRY(next.get());
  }
  return {};
}

}  // namespace

Result<std::string> CopyExtents(int source_fd, int device_fd, const std::vector<Extent>& extents,
                                size_t sector_size, const ExtentProgress& progress,
                                const std::string& what) {
  const std::vector<Chunk> chunks = SplitIntoChunks(extents, sector_size);
  (void)posix_fadvise(source_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 source_hash;
  uint64_t done = 0;
  auto fetch = [&](size_t i, uint8_t* buffer) -> Result<void> {
    const Chunk& c = chunks[i];
    LIFEBOAT_TRY(ReadFully(source_fd, buffer, c.length, c.file_offset, what + " (source)"));
    source_hash.Update({buffer, c.length});
    std::memset(buffer + c.length, 0, c.padded - c.length);
    return {};
  };
  auto write = [&](size_t i, const uint8_t* buffer) -> Result<void> {
    const Chunk& c = chunks[i];
    LIFEBOAT_TRY(WriteFully(device_fd, buffer, c.padded, c.device_offset, what));
    done += c.length;
    if (progress && !progress(done)) return Fail(ErrorCode::kIo, what + " stopped");
    return {};
  };
  LIFEBOAT_TRY(Pipeline(chunks.size(), fetch, write));
  if (fdatasync(device_fd) != 0) return Fail(ErrorCode::kIo, what + ": flush: " + ErrnoText(errno));
  return source_hash.HexDigest();
}

Result<std::string> HashExtents(int device_fd, const std::vector<Extent>& extents,
                                size_t sector_size, const std::string& what) {
  const std::vector<Chunk> chunks = SplitIntoChunks(extents, sector_size);
  Sha256 hash;
  auto fetch = [&](size_t i, uint8_t* buffer) {
    return ReadFully(device_fd, buffer, chunks[i].padded, chunks[i].device_offset, what);
  };
  auto take = [&](size_t i, const uint8_t* buffer) -> Result<void> {
    hash.Update({buffer, chunks[i].length});
    return {};
  };
  LIFEBOAT_TRY(Pipeline(chunks.size(), fetch, take));
  return hash.HexDigest();
}

}  // namespace lifeboat::image
