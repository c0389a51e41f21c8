// Found by fuzzing (tests/fixtures/fuzz/README.md): a 2 KB WIM whose header announced XML data far
// beyond the file made wimlib allocate 13 GB. The header is now checked against the file first.
#include <gtest/gtest.h>

#include "image/wim_file.h"
#include "tests/support/test_support.h"

namespace lifeboat::image {
namespace {

TEST(WimHeader, ResourcesBeyondTheFileAreRefusedBeforeWimlibReadsThem) {
  // Each made wimlib ask for gigabytes: 13 GB, 2.5 GB, 6.3 GB, 3.5 GB, 4.3 GB and 16 GB.
  for (const char* name :
       {"wim-xml-size-beyond-file", "wim-lookup-table-expands", "wim-image-count-788-million",
        "wim-integrity-table-of-size-0", "wim-metadata-resource-4-gb",
        "wim-metadata-in-a-compressed-lookup-table"}) {
    auto r = CheckImage(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/fuzz/" + name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt) << name;
    EXPECT_NE(r.error().message.find("is damaged: its header"), std::string::npos)
        << r.error().message;
  }
}

TEST(WimHeader, ARealImagePassesTheHeaderCheck) {
  test::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(test::MakeTestWim(dir / "a.wim", "--size-mb 1"));
  auto r = CheckImage(dir / "a.wim");
  EXPECT_TRUE(r) << r.error().message;
}

}  // namespace
}  // namespace lifeboat::image
