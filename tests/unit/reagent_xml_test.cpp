// ReAgent.xml following a moved WinRE (agent/winre_follow.h), on files shaped like those Windows
// writes (reagentc's, as public scripts that read them quote: Windows 8.1 GPT with push-button
// reset, an MBR machine).
#include <gtest/gtest.h>

#include "agent/winre_follow.h"

namespace lifeboat::agent {
namespace {

constexpr const char* kDisk = "1BBE1186-B3BB-4A08-AF22-264B3379D8CD";

std::string Gpt(uint64_t winre_offset) {
  return "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\r\n"
         "<WindowsRE version=\"2.0\">\r\n"
         "  <WinreBCD id=\"{d9ebf8fe-279b-11e3-8baa-937d583d467a}\"/>\r\n"
         "  <WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"" +
         std::to_string(winre_offset) +
         "\" guid=\"{1bbe1186-b3bb-4a08-af22-264b3379d8cd}\"/>\r\n"
         "  <PBRImageLocation path=\"\\RecoveryImage\" id=\"0\" offset=\"58465452032\" "
         "guid=\"{1bbe1186-b3bb-4a08-af22-264b3379d8cd}\" index=\"1\"/>\r\n"
         // The same offset on another disk: not WinRE's.
         "  <ImageLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"" +
         std::to_string(winre_offset) +
         "\" guid=\"{46d52120-8158-4242-ad3c-0a3e919752b1}\"/>\r\n"
         "  <InstallState state=\"1\"/>\r\n"
         "  <OsBuildVersion path=\"9600.16384.amd64fre.winblue_rtm.130821-1623\"/>\r\n"
         "</WindowsRE>\r\n";
}

TEST(ReAgentXml, OnlyTheOffsetOfWinResOwnPlaceChangesEveryOtherByteStays) {
  auto moved = RetargetReAgentXml(Gpt(3251634176), kDisk, 3251634176, 3049259008);
  ASSERT_TRUE(moved);
  ASSERT_TRUE(*moved);
  std::string expected = Gpt(3251634176);
  const auto at = expected.find("offset=\"3251634176\" guid=\"{1bbe");
  expected.replace(at + 8, 10, "3049259008");
  EXPECT_EQ(**moved, expected);
  EXPECT_NE(moved->value().find("offset=\"3251634176\" guid=\"{46d5"), std::string::npos)
      << "another disk's element keeps its offset";

  // Nothing names the old place (already followed, or another one): nothing to change.
  EXPECT_FALSE(*RetargetReAgentXml(**moved, kDisk, 3251634176, 3049259008));
  EXPECT_FALSE(*RetargetReAgentXml(Gpt(1048576), kDisk, 3251634176, 3049259008));
}

TEST(ReAgentXml, MbrDisksNameNoGuidAndUtf16FilesStayUtf16) {
  const std::string mbr =
      "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n<WindowsRE version=\"2.0\">"
      "<WinreBCD id=\"{3c32c4e7-f36e-11e2-8548-986c4e43b52a}\"/><WinreLocation "
      "path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"105906176\" "
      "guid=\"{00000000-0000-0000-0000-000000000000}\"/><InstallState state=\"1\"/></WindowsRE>\n";
  auto moved = RetargetReAgentXml(mbr, "", 105906176, 5242880);
  ASSERT_TRUE(moved && *moved);
  EXPECT_NE((*moved)->find("offset=\"5242880\" guid=\"{0000"), std::string::npos) << **moved;
  // A GPT disk's GUID on an MBR disk's file: not this disk.
  EXPECT_FALSE(*RetargetReAgentXml(Gpt(105906176), "", 105906176, 5242880));

  std::string wide = "\xff\xfe";
  for (char c : mbr) wide += std::string{c, '\0'};
  auto wide_moved = RetargetReAgentXml(wide, "", 105906176, 5242880);
  ASSERT_TRUE(wide_moved && *wide_moved);
  std::string expected = "\xff\xfe";
  for (char c : **moved) expected += std::string{c, '\0'};
  EXPECT_EQ(**wide_moved, expected);
  wide += std::string("\xe9\x00", 2);  // é: beyond ASCII
  EXPECT_EQ(RetargetReAgentXml(wide, "", 105906176, 5242880).error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace lifeboat::agent
