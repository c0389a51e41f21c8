// Decodes the six real BCD stores in tests/fixtures/bcd and checks every object, element, value
// and device against the independent decoded dumps beside them (.reg.txt).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "bcd/describe.h"
#include "bcd/device.h"
#include "bcd/hive.h"
#include "bcd/store.h"

namespace lifeboat::bcd {
namespace {

const std::string kFixtures = std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/bcd/";

// One element as the independent dump describes it.
struct DumpedElement {
  std::string reg_type;  // REG_SZ, REG_BINARY, REG_MULTI_SZ
  size_t length = 0;
  std::string value;  // the text after " = "
  std::vector<std::string> device_lines;
};

struct DumpedObject {
  uint32_t type = 0;
  std::map<uint32_t, DumpedElement> elements;
};

std::map<std::string, DumpedObject> ParseDump(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, DumpedObject> objects;
  std::regex key(R"(^\[\\Objects\\(\{[0-9a-f-]+\})(\\Description|\\Elements\\([0-9a-f]{8}))?\]$)");
  std::regex value(R"re(^  "(Element|Type)" (REG_[A-Z_]+)\(\d+\) len=(\d+) = (.*)$)re");
  std::string line, object;
  uint32_t element = 0;
  bool in_element = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, key)) {
      object = m[1];
      objects[object];
      in_element = m[3].matched;
      if (in_element) element = static_cast<uint32_t>(std::stoul(m[3], nullptr, 16));
      continue;
    }
    if (line.starts_with("[")) {
      object.clear();
      in_element = false;
      continue;
    }
    if (object.empty()) continue;
    if (std::regex_match(line, m, value)) {
      if (m[1] == "Type") {
        objects[object].type = static_cast<uint32_t>(std::stoul(m[4], nullptr, 16));
      } else if (in_element) {
        auto& e = objects[object].elements[element];
        e.reg_type = m[2];
        e.length = std::stoul(m[3]);
        e.value = m[4];
      }
    } else if (in_element && line.starts_with("    ")) {
      objects[object].elements[element].device_lines.push_back(line);
    }
  }
  return objects;
}

std::vector<uint8_t> ParseHex(const std::string& text) {
  std::vector<uint8_t> out;
  std::string hex =
      text.substr(4, text.find(' ') == std::string::npos ? std::string::npos : text.find(' ') - 4);
  std::stringstream ss(hex);
  std::string byte;
  while (std::getline(ss, byte, ','))
    out.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
  return out;
}

// Python repr of a str: 'abc\\def\x00' -> the characters before the first NUL.
std::string ParseRepr(const std::string& text, size_t& pos) {
  char quote = text[pos++];
  std::string out;
  bool ended = false;
  while (pos < text.size() && text[pos] != quote) {
    char c = text[pos++];
    if (c == '\\') {
      char n = text[pos++];
      if (n == 'x') {
        int v = std::stoi(text.substr(pos, 2), nullptr, 16);
        pos += 2;
        if (v == 0)
          ended = true;
        else if (!ended)
          out += static_cast<char>(v);
        continue;
      }
      c = n;
    }
    if (!ended) out += c;
  }
  ++pos;
  return out;
}

std::vector<std::string> ParseReprList(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == ']') break;
    if (text[pos] == '\'' || text[pos] == '"') {
      std::string item = ParseRepr(text, pos);
      --pos;
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

void CheckDevice(const std::string& where, const DumpedElement& dumped, const Element& ours) {
  auto device = DecodeDevice(ours.data);
  ASSERT_TRUE(device) << where << ": " << device.error().message;
  std::regex gpt(R"(GPT partition: part_guid=(\{[0-9a-f-]+\}) disk_guid=(\{[0-9a-f-]+\}))");
  std::regex mbr(R"(MBR partition: byte_offset=(\d+) .* disk_signature=0x([0-9a-f]+))");
  std::regex path(R"(path=('.*'))");
  std::regex options(R"(@0x00 options GUID: (\{[0-9a-f-]+\}))");
  std::vector<PartitionRef> partitions;
  bool boot = false;
  std::string wim;
  std::optional<std::string> options_guid;
  for (const auto& line : dumped.device_lines) {
    std::smatch m;
    if (std::regex_search(line, m, gpt)) {
      partitions.push_back({true, *Guid::Parse(m[1]), *Guid::Parse(m[2]), 0, 0});
    } else if (std::regex_search(line, m, mbr)) {
      PartitionRef p;
      p.gpt = false;
      p.offset = std::stoull(m[1]);
      p.signature = static_cast<uint32_t>(std::stoul(m[2], nullptr, 16));
      partitions.push_back(p);
    } else if (line.find("-> boot device") != std::string::npos) {
      boot = true;
    } else if (std::regex_search(line, m, path)) {
      std::string text = m[1];
      size_t pos = 0;
      wim = ParseRepr(text, pos);
    } else if (std::regex_search(line, m, options)) {
      options_guid = m[1];
    }
  }
  if (options_guid) {
    EXPECT_EQ(device->options.Text(), *options_guid) << where;
  }
  if (!wim.empty()) {
    EXPECT_EQ(device->kind, Device::Kind::kRamdisk) << where;
    EXPECT_EQ(device->path, wim) << where;
    EXPECT_EQ(device->parent_is_boot, boot) << where;
  } else if (boot) {
    EXPECT_EQ(device->kind, Device::Kind::kBoot) << where;
  }
  if (!partitions.empty()) {
    ASSERT_TRUE(device->partition.has_value()) << where;
    EXPECT_EQ(*device->partition, partitions.back()) << where << ": " << FormatDevice(*device);
  }
  // What we decoded must also be what we would write: re-encode partition and RAM-disk devices
  // with the stored options and compare bytes (RAM disks: all but the 0x2C quirk of
  // BCD-FORMAT 3.7).
  if (device->kind == Device::Kind::kPartition && device->options.IsZero()) {
    EXPECT_EQ(EncodePartitionDevice(*device->partition), ours.data) << where;
  }
  if (device->kind == Device::Kind::kRamdisk && device->partition) {
    auto encoded = EncodeRamdiskDevice(*device->partition, device->path, device->options);
    auto stored = ours.data;
    for (size_t i = 0x2c; i < 0x34 && i < stored.size(); ++i) stored[i] = 0;
    EXPECT_EQ(encoded, stored) << where;
  }
}

class BcdDecodeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BcdDecodeTest, AgreesWithIndependentDump) {
  std::string name = GetParam();
  auto dump = ParseDump(kFixtures + name + ".reg.txt");
  auto hive = Hive::Open(kFixtures + name, false);
  ASSERT_TRUE(hive) << hive.error().message;
  auto store = LoadStore(**hive);
  ASSERT_TRUE(store) << store.error().message;

  ASSERT_EQ(store->objects.size(), dump.size()) << name;
  size_t checked = 0;
  for (const auto& [guid_text, dumped] : dump) {
    auto guid = Guid::Parse(guid_text);
    ASSERT_TRUE(guid) << guid_text;
    const Object* object = store->Find(*guid);
    ASSERT_NE(object, nullptr) << name << " " << guid_text;
    EXPECT_EQ(object->type, dumped.type) << name << " " << guid_text;
    ASSERT_EQ(object->elements.size(), dumped.elements.size()) << name << " " << guid_text;
    for (const auto& [id, de] : dumped.elements) {
      std::string where = name + " " + guid_text + " " + std::to_string(id);
      auto it = object->elements.find(id);
      ASSERT_NE(it, object->elements.end()) << where;
      const Element& ours = it->second;
      EXPECT_EQ(ours.data.size(), de.length) << where;
      auto described = DescribeElement(id, object->type, ours);
      EXPECT_FALSE(described.name.empty());
      if (de.reg_type == "REG_BINARY") {
        EXPECT_EQ(ours.type, kRegBinary) << where;
        EXPECT_EQ(ours.data, ParseHex(de.value)) << where;
      } else if (de.reg_type == "REG_SZ") {
        EXPECT_EQ(ours.type, kRegSz) << where;
        size_t pos = 0;
        std::string expected = ParseRepr(de.value, pos);
        EXPECT_EQ(DecodeString(ours.data), expected) << where;
      } else if (de.reg_type == "REG_MULTI_SZ") {
        EXPECT_EQ(ours.type, kRegMultiSz) << where;
        EXPECT_EQ(DecodeMultiString(ours.data), ParseReprList(de.value)) << where;
      } else {
        ADD_FAILURE() << where << ": unexpected type " << de.reg_type;
      }
      if (FormatOf(id) == ElementFormat::kDevice) CheckDevice(where, de, ours);
      if (FormatOf(id) == ElementFormat::kInteger) {
        // Short integers (1-3 bytes in install media) decode like their 8-byte form.
        uint64_t expected = 0;
        auto bytes = ParseHex(de.value);
        for (size_t i = 0; i < bytes.size(); ++i) expected |= uint64_t{bytes[i]} << (8 * i);
        EXPECT_EQ(described.text, std::to_string(expected)) << where;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked + (name == "go-bcdedit_template_BCD" ? 1 : 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BcdDecodeTest,
                         ::testing::Values("pybcd_BCDrecovery", "pybcd_BCDlaptop", "pybcd_BCDvm",
                                           "pybcd_BCDTest", "go-bcdedit_template_BCD",
                                           "mbrdual_winpe_boot_bcd"));

TEST(BcdDescribe, NamesElementsTheWayBcdeditDoes) {
  auto hive = Hive::Open(kFixtures + "pybcd_BCDrecovery", false);
  ASSERT_TRUE(hive);
  auto store = LoadStore(**hive);
  ASSERT_TRUE(store);
  const Object* bootmgr = store->Find(known::kBootMgr);
  ASSERT_NE(bootmgr, nullptr);
  auto def = DescribeElement(0x23000003, bootmgr->type, bootmgr->elements.at(0x23000003));
  EXPECT_EQ(def.name, "default");
  EXPECT_EQ(def.text, "{17d1a947-6ebc-11e3-92e2-9e90a5a36f6e}");
  auto winre = store->Find(*Guid::Parse("{17d1a948-6ebc-11e3-92e2-9e90a5a36f6e}"));
  ASSERT_NE(winre, nullptr);
  auto device = DescribeElement(0x11000001, winre->type, winre->elements.at(0x11000001));
  EXPECT_EQ(device.name, "device");
  EXPECT_EQ(device.text,
            "ramdisk=[gpt disk {9dc23e38-af40-4da5-a6e9-9b28a4a07bd1} partition "
            "{b3362570-3901-4275-ad04-41043bf60048}]\\Recovery\\WindowsRE\\Winre.wim,"
            "{17d1a949-6ebc-11e3-92e2-9e90a5a36f6e}");
  auto winpe = DescribeElement(0x26000022, winre->type, winre->elements.at(0x26000022));
  EXPECT_EQ(winpe.name, "winpe");
  EXPECT_EQ(winpe.text, "Yes");
  auto inherit = DescribeElement(0x14000006, winre->type, winre->elements.at(0x14000006));
  EXPECT_EQ(inherit.text, "{bootloadersettings}");
}

TEST(BcdHeader, ReadsSequenceNumbersAndChecksum) {
  std::ifstream in(kFixtures + "pybcd_BCDvm", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto header = ReadHiveHeader(bytes);
  ASSERT_TRUE(header) << header.error().message;
  EXPECT_EQ(header->sequence1, header->sequence2);
  bytes[100] ^= 0xff;
  EXPECT_FALSE(ReadHiveHeader(bytes));
  EXPECT_FALSE(ReadHiveHeader(std::vector<uint8_t>(100, 0)));
}

TEST(BcdHeader, AHiveCutShortIsNamedAsSuch) {
  std::ifstream in(kFixtures + "pybcd_BCDvm", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  bytes.resize(bytes.size() - 4096);
  auto header = ReadHiveHeader(bytes);
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().message.find("cut short"), std::string::npos) << header.error().message;
}

// Found by fuzzing (tests/fixtures/fuzz/README.md): a value whose registry type is no named
// hive_type was read through that enum, which is undefined behaviour.
TEST(BcdDecode, AValueOfAnUnknownRegistryTypeIsKeptAsItIs) {
  auto hive = Hive::Open(
      std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/fuzz/bcd-value-type-262144", false);
  ASSERT_TRUE(hive) << hive.error().message;
  auto store = LoadStore(**hive);
  ASSERT_TRUE(store) << store.error().message;
  auto id = Guid::Parse("{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}");
  ASSERT_TRUE(id);
  const Object* object = store->Find(*id);
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->elements.at(0x16000020).type, 262144u);
  EXPECT_EQ(object->elements.at(0x16000020).data, std::vector<uint8_t>{1});
}

}  // namespace
}  // namespace lifeboat::bcd
