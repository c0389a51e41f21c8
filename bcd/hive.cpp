#include "bcd/hive.h"

#include <hivex.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lifeboat::bcd {

namespace {

hive_h* H(void* handle) { return static_cast<hive_h*>(handle); }

uint32_t U32(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint32_t>(b[off]) | static_cast<uint32_t>(b[off + 1]) << 8 |
         static_cast<uint32_t>(b[off + 2]) << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

Result<HiveHeader> ReadHiveHeader(const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 4096 || std::memcmp(bytes.data(), "regf", 4) != 0) {
    return Fail(ErrorCode::kCorrupt, "not a registry hive (no \"regf\" base block)");
  }
  HiveHeader header;
  header.sequence1 = U32(bytes, 4);
  header.sequence2 = U32(bytes, 8);
  // The checksum is the XOR of the base block's first 127 32-bit words.
  uint32_t sum = 0;
  for (size_t off = 0; off < 508; off += 4) sum ^= U32(bytes, off);
  if (sum == 0xffffffff) sum = 0xfffffffe;
  if (sum == 0) sum = 1;
  header.checksum_ok = sum == U32(bytes, 508);
  if (!header.checksum_ok)
    return Fail(ErrorCode::kCorrupt, "the hive's base block checksum is wrong");
  // The base block says how many bytes of hive bins follow it: fewer in the file means a copy or
  // a write that was cut short.
  const uint64_t bins = U32(bytes, 40);
  if (4096 + bins > bytes.size()) {
    return Fail(ErrorCode::kCorrupt, "the hive is cut short: its base block announces " +
                                         std::to_string(4096 + bins) + " bytes, the file holds " +
                                         std::to_string(bytes.size()));
  }
  return header;
}

namespace {

void Put16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v);
  b[off + 1] = static_cast<uint8_t>(v >> 8);
}
void Put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A self-relative security descriptor: owner Administrators, group SYSTEM, and a DACL granting
// Everyone KEY_ALL_ACCESS, inherited by subkeys (what bcdedit /createstore gives a store's keys,
// simplified to one entry).
std::vector<uint8_t> SecurityDescriptor() {
  const std::vector<uint8_t> administrators = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};
  const std::vector<uint8_t> system = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
  const std::vector<uint8_t> everyone = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  std::vector<uint8_t> ace = {
      0 /* allowed */, 0x02 /* container inherit */, 0, 0, 0x3f, 0, 0x0f, 0 /* KEY_ALL_ACCESS */};
  ace.insert(ace.end(), everyone.begin(), everyone.end());
  Put16(ace, 2, static_cast<uint16_t>(ace.size()));
  std::vector<uint8_t> acl = {2, 0, 0, 0, 1, 0, 0, 0};  // revision 2, one entry
  acl.insert(acl.end(), ace.begin(), ace.end());
  Put16(acl, 2, static_cast<uint16_t>(acl.size()));
  std::vector<uint8_t> sd(20, 0);
  sd[0] = 1;                    // revision
  Put16(sd, 2, 0x8004);         // self-relative, DACL present
  Put32(sd, 4, 20);             // owner
  Put32(sd, 8, 20 + 16);        // group
  Put32(sd, 16, 20 + 16 + 12);  // DACL
  sd.insert(sd.end(), administrators.begin(), administrators.end());
  sd.insert(sd.end(), system.begin(), system.end());
  sd.insert(sd.end(), acl.begin(), acl.end());
  return sd;
}

}  // namespace

std::vector<uint8_t> EmptyHiveBytes(const std::string& root_name) {
  constexpr size_t kBin = 4096, kCells = kBin + 0x20;  // the first cell, after the bin's header
  std::vector<uint8_t> b(2 * kBin, 0);
  // Base block: signature, both sequence numbers 1 (no write in progress), version 1.3, a primary
  // file in memory format 1, the root key's cell, one bin, clustering 1; checksum last.
  std::memcpy(b.data(), "regf", 4);
  Put32(b, 4, 1);
  Put32(b, 8, 1);
  Put32(b, 20, 1);
  Put32(b, 24, 3);
  Put32(b, 32, 1);
  Put32(b, 36, 0x20);
  Put32(b, 40, kBin);
  Put32(b, 44, 1);
  uint32_t sum = 0;
  for (size_t off = 0; off < 508; off += 4) sum ^= U32(b, off);
  if (sum == 0xffffffff) sum = 0xfffffffe;
  if (sum == 0) sum = 1;
  Put32(b, 508, sum);
  // The bin.
  std::memcpy(b.data() + kBin, "hbin", 4);
  Put32(b, kBin + 8, kBin);
  // The root key (nk), its name stored as ASCII. Offsets are from the first bin.
  const size_t nk = kCells;
  const size_t nk_size = (4 + 0x4c + root_name.size() + 7) / 8 * 8;
  const size_t sk = nk + nk_size;
  Put32(b, nk, static_cast<uint32_t>(-static_cast<int32_t>(nk_size)));  // allocated
  std::memcpy(b.data() + nk + 4, "nk", 2);
  Put16(b, nk + 6, 0x2c);               // hive entry (the root), not deletable, ASCII name
  Put32(b, nk + 4 + 0x10, 0xffffffff);  // no parent
  Put32(b, nk + 4 + 0x1c, 0xffffffff);  // no subkey list
  Put32(b, nk + 4 + 0x20, 0xffffffff);  // no volatile subkey list
  Put32(b, nk + 4 + 0x28, 0xffffffff);  // no value list
  Put32(b, nk + 4 + 0x2c, static_cast<uint32_t>(sk - kBin));
  Put32(b, nk + 4 + 0x30, 0xffffffff);  // no class name
  Put16(b, nk + 4 + 0x48, static_cast<uint16_t>(root_name.size()));
  std::memcpy(b.data() + nk + 4 + 0x4c, root_name.data(), root_name.size());
  // Its security descriptor (sk), a list of one: links to itself, used once.
  const auto sd = SecurityDescriptor();
  const size_t sk_size = (4 + 0x14 + sd.size() + 7) / 8 * 8;
  Put32(b, sk, static_cast<uint32_t>(-static_cast<int32_t>(sk_size)));
  std::memcpy(b.data() + sk + 4, "sk", 2);
  Put32(b, sk + 4 + 4, static_cast<uint32_t>(sk - kBin));
  Put32(b, sk + 4 + 8, static_cast<uint32_t>(sk - kBin));
  Put32(b, sk + 4 + 12, 1);
  Put32(b, sk + 4 + 16, static_cast<uint32_t>(sd.size()));
  std::memcpy(b.data() + sk + 4 + 0x14, sd.data(), sd.size());
  // The rest of the bin is one free cell.
  const size_t free_cell = sk + sk_size;
  Put32(b, free_cell, static_cast<uint32_t>(2 * kBin - free_cell));
  return b;
}

bool LogHoldsPendingData(const std::vector<uint8_t>& log, const HiveHeader& primary) {
  if (log.size() < 1024 || std::memcmp(log.data(), "regf", 4) != 0) return false;
  uint32_t log_sequence = U32(log, 4);
  if (std::memcmp(log.data() + 512, "DIRT", 4) == 0) return log_sequence >= primary.sequence2;
  // New-format entries follow each other from offset 512: signature, size, flags, sequence.
  for (size_t off = 512; off + 16 <= log.size();) {
    if (std::memcmp(log.data() + off, "HvLE", 4) != 0) break;
    uint32_t size = U32(log, off + 4);
    uint32_t sequence = U32(log, off + 12);
    if (sequence >= primary.sequence2) return true;
    if (size < 16 || size % 512 != 0) break;
    off += size;
  }
  return false;
}

Hive::Hive(void* handle, std::string file) : handle_(handle), file_(std::move(file)) {}

Hive::~Hive() { hivex_close(H(handle_)); }

Result<std::unique_ptr<Hive>> Hive::Open(const std::string& file, bool writable) {
  hive_h* h = hivex_open(file.c_str(), writable ? HIVEX_OPEN_WRITE : 0);
  if (h == nullptr) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, file + ": no such file");
    return Fail(ErrorCode::kCorrupt,
                file + " is not a registry hive hivex can read: " + ErrnoText());
  }
  return std::unique_ptr<Hive>(new Hive(h, file));
}

Hive::Node Hive::Root() const { return hivex_root(H(handle_)); }

std::string Hive::Name(Node node) const {
  char* name = hivex_node_name(H(handle_), node);
  std::string out = name ? name : "";
  free(name);
  return out;
}

Result<std::optional<Hive::Node>> Hive::Child(Node parent, const std::string& name) const {
  errno = 0;
  hive_node_h child = hivex_node_get_child(H(handle_), parent, name.c_str());
  if (child == 0) {
    if (errno != 0) return Fail(ErrorCode::kCorrupt, "read key " + name + ": " + ErrnoText());
    return std::optional<Node>();
  }
  return std::optional<Node>(child);
}

Result<std::vector<std::pair<std::string, Hive::Node>>> Hive::Children(Node parent) const {
  hive_node_h* children = hivex_node_children(H(handle_), parent);
  if (children == nullptr)
    return Fail(ErrorCode::kCorrupt, "list subkeys of " + Name(parent) + ": " + ErrnoText());
  std::vector<std::pair<std::string, Node>> out;
  for (size_t i = 0; children[i] != 0; ++i) out.emplace_back(Name(children[i]), children[i]);
  free(children);
  return out;
}

Result<std::vector<RegValue>> Hive::Values(Node node) const {
  hive_value_h* values = hivex_node_values(H(handle_), node);
  if (values == nullptr)
    return Fail(ErrorCode::kCorrupt, "list values of " + Name(node) + ": " + ErrnoText());
  std::vector<RegValue> out;
  for (size_t i = 0; values[i] != 0; ++i) {
    RegValue v;
    char* key = hivex_value_key(H(handle_), values[i]);
    v.name = key ? key : "";
    free(key);
    // hivex stores the value's type as found in the hive, any 32-bit number; read as the enum
    // hive_type, one outside its named values is undefined behaviour in C++ (found by fuzzing).
    // So the bytes are taken as they are.
    alignas(hive_type) unsigned char type_bytes[sizeof(hive_type)] = {};
    size_t length = 0;
    char* data =
        hivex_value_value(H(handle_), values[i], reinterpret_cast<hive_type*>(type_bytes), &length);
    if (data == nullptr) {
      free(values);
      return Fail(ErrorCode::kCorrupt,
                  "read value " + v.name + " of " + Name(node) + ": " + ErrnoText());
    }
    uint32_t type = 0;
    static_assert(sizeof(hive_type) == sizeof(type));
    std::memcpy(&type, type_bytes, sizeof type);
    v.type = type;
    v.data.assign(reinterpret_cast<uint8_t*>(data), reinterpret_cast<uint8_t*>(data) + length);
    free(data);
    out.push_back(std::move(v));
  }
  free(values);
  return out;
}

Result<Hive::Node> Hive::AddChild(Node parent, const std::string& name) {
  hive_node_h child = hivex_node_add_child(H(handle_), parent, name.c_str());
  if (child == 0)
    return Fail(ErrorCode::kIo, "add key " + name + " under " + Name(parent) + ": " + ErrnoText());
  return child;
}

Result<void> Hive::SetValue(Node node, const RegValue& value) {
  hive_set_value v{};
  std::string key = value.name;
  v.key = key.data();
  // Any 32-bit type read from a hive is written back as it was (see Values: no enum cast).
  static_assert(sizeof(v.t) == sizeof(value.type));
  std::memcpy(&v.t, &value.type, sizeof v.t);
  v.len = value.data.size();
  v.value = const_cast<char*>(reinterpret_cast<const char*>(value.data.data()));
  if (hivex_node_set_value(H(handle_), node, &v, 0) != 0) {
    return Fail(ErrorCode::kIo,
                "set value " + value.name + " of " + Name(node) + ": " + ErrnoText());
  }
  return {};
}

Result<void> Hive::DeleteKey(Node node) {
  std::string name = Name(node);
  if (hivex_node_delete_child(H(handle_), node) != 0) {
    return Fail(ErrorCode::kIo, "delete key " + name + ": " + ErrnoText());
  }
  return {};
}

Result<void> Hive::Commit() {
  if (hivex_commit(H(handle_), nullptr, 0) != 0) {
    return Fail(ErrorCode::kIo, "write hive " + file_ + ": " + ErrnoText());
  }
  return {};
}

}  // namespace lifeboat::bcd
