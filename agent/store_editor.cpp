#include "agent/store_editor.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "bcd/entry_removal.h"
#include "bcd/hive.h"

namespace lifeboat::agent {

namespace {

// A private copy of the hive for hivex, removed when it goes.
class TempHive {
 public:
  explicit TempHive(const std::vector<uint8_t>& bytes) {
    char name[] = "/tmp/lifeboat-bcd-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) return;
    path_ = name;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ok_ = done == bytes.size();
    close(fd);
  }
  ~TempHive() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  [[nodiscard]] Result<void> Ready() const {
    if (!ok_)
      return Fail(ErrorCode::kIo,
                  std::string("temporary copy of the store: ") + std::strerror(errno));
    return {};
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  // `message` without this private copy's name, which means nothing to anyone reading it.
  [[nodiscard]] std::string Unnamed(std::string message) const {
    for (size_t at = message.find(path_); !path_.empty() && at != std::string::npos;
         at = message.find(path_, at))
      message.replace(at, path_.size(), "the store");
    return message;
  }
  [[nodiscard]] std::vector<uint8_t> Bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string path_;
  bool ok_ = false;
};

}  // namespace

Result<bcd::Store> ParseStore(const std::vector<uint8_t>& bytes) {
  LIFEBOAT_TRY(bcd::ReadHiveHeader(bytes));
  TempHive temp(bytes);
  LIFEBOAT_TRY(temp.Ready());
  auto hive = bcd::Hive::Open(temp.path(), false);
  if (!hive) return std::unexpected(Error{ErrorCode::kCorrupt, temp.Unnamed(hive.error().message)});
  return bcd::LoadStore(**hive);
}

Result<LoadedStore> ReadStoreForEdit(const BootStoreIo& file) {
  const std::string where = file.Describe();
  auto bytes = file.Read();
  LIFEBOAT_TRY(bytes);
  auto header = bcd::ReadHiveHeader(*bytes);
  if (!header) return std::unexpected(header.error().Context("the BCD store " + where));
  if (header->sequence1 != header->sequence2) {
    return Refuse(
        "boot-store-unusable",
        "the BCD store " + where + " was not completely written (header sequence numbers " +
            std::to_string(header->sequence1) + " and " + std::to_string(header->sequence2) +
            " differ): Windows would replay its transaction log over any change. Boot "
            "Windows once so that it finishes the write; nothing was changed");
  }
  auto logs = file.Logs();
  LIFEBOAT_TRY(logs);
  for (const auto& [name, log] : *logs) {
    if (bcd::LogHoldsPendingData(log, *header)) {
      return Refuse("boot-store-unusable",
                    "the BCD store " + where + " has pending changes in its transaction log " +
                        name +
                        " that Windows would replay over any change. Boot Windows once so that it "
                        "applies them; nothing was changed");
    }
  }
  auto store = ParseStore(*bytes);
  if (!store) return std::unexpected(store.error().Context("the BCD store " + where));
  return LoadedStore{std::move(*bytes), std::move(*store)};
}

Result<std::vector<uint8_t>> EditStore(const std::vector<uint8_t>& bytes,
                                       const std::vector<bcd::Object>& objects,
                                       const std::vector<bcd::Guid>& remove) {
  TempHive temp(bytes);
  LIFEBOAT_TRY(temp.Ready());
  {
    auto hive = bcd::Hive::Open(temp.path(), true);
    if (!hive) return std::unexpected(Error{hive.error().code, temp.Unnamed(hive.error().message)});
    LIFEBOAT_TRY(bcd::SaveObjects(**hive, objects));
    LIFEBOAT_TRY(bcd::DeleteObjects(**hive, remove));
    LIFEBOAT_TRY((*hive)->Commit());
  }
  return temp.Bytes();
}

Result<void> ReplaceStore(const BootStoreIo& file, const std::vector<uint8_t>& bytes,
                          const std::vector<uint8_t>& original) {
  const std::string where = file.Describe();
  auto written = file.Write(bytes);
  Result<std::vector<uint8_t>> back = written ? file.Read() : std::unexpected(written.error());
  if (back && *back == bytes) return {};
  Error problem =
      !back ? back.error()
            : Error{ErrorCode::kVerification,
                    "the BCD store " + where + " read back differently from what was written"};
  if (auto restored = file.Write(original); !restored) {
    return Fail(problem.code, problem.message + "; restoring the original store failed too (" +
                                  restored.error().message +
                                  "); the agent's journal keeps a copy of it");
  }
  return Fail(problem.code, problem.message + "; the original store was put back");
}

}  // namespace lifeboat::agent
