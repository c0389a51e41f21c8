// The one JSON shape (docs/json.md) made from the API's messages, read back, and the order of
// versions that tells an upgrade from a downgrade.
#include "proto/api_json.h"

#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "common/version.h"
#include "lifeboat/v1/admin_service.pb.h"
#include "proto/api_json_read.h"

namespace lifeboat {
namespace {

Poco::JSON::Object::Ptr Parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

TEST(ApiJson, NumbersAreNumbersStatesAreWordsWavesCountFromOne) {
  v1::GetRolloutResponse response;
  auto* r = response.mutable_rollout();
  r->set_id(18446744073709551615ULL);  // the largest uint64: still a number, not a string
  r->set_state(v1::ROLLOUT_STATE_COMPLETED_WITH_FAILURES);
  r->mutable_progress()->set_current_wave(0);
  r->mutable_spec()->set_image_version("2.0");
  (*r->mutable_spec()->mutable_selector()->mutable_labels())["ring"] = "canary";
  r->mutable_spec()->add_waves()->set_percent(50);
  const std::string text = api::MessageJson(response, false);
  EXPECT_NE(text.find("\"id\":18446744073709551615"), std::string::npos) << text;
  auto rollout = Parse(text)->getObject("rollout");
  EXPECT_EQ(rollout->getValue<std::string>("state"), "completed_with_failures");
  EXPECT_EQ(rollout->getObject("progress")->getValue<int>("current_wave"), 1);
  EXPECT_EQ(rollout->getObject("spec")
                ->getObject("selector")
                ->getObject("labels")
                ->getValue<std::string>("ring"),
            "canary");
  // A oneof shows the member that is set; an optional left unset is null.
  auto wave = rollout->getObject("spec")->getArray("waves")->getObject(0);
  EXPECT_EQ(wave->getValue<int>("percent"), 50);
  EXPECT_FALSE(wave->has("count"));
  EXPECT_TRUE(rollout->getObject("spec")->isNull("failure_threshold_percent"));
  // Defaults are shown, so the shape does not depend on the values.
  EXPECT_EQ(rollout->getValue<std::string>("message"), "");
  EXPECT_EQ(rollout->getValue<int>("rollback_of"), 0);
}

TEST(ApiJson, UnsetEnumsAndMessagesAreNullBytesAreBase64) {
  v1::Machine machine;
  machine.set_id("pc-1");
  v1::Image image;
  image.mutable_signature()->set_signature(std::string("\x00\xff\x10", 3));
  auto m = Parse(api::MessageJson(machine, true));
  EXPECT_TRUE(m->isNull("state"));      // AGENT_STATE_UNSPECIFIED
  EXPECT_TRUE(m->isNull("inventory"));  // never reported
  auto i = Parse(api::MessageJson(image, false));
  EXPECT_EQ(i->getObject("signature")->getValue<std::string>("signature"), "AP8Q");
  EXPECT_EQ(api::EnumWord(*v1::AgentState_descriptor()->FindValueByNumber(v1::AGENT_STATE_IDLE)),
            "idle");
  EXPECT_EQ(api::EnumWord(*v1::StepEvent::Status_descriptor()->FindValueByNumber(
                v1::StepEvent::STATUS_SUCCEEDED)),
            "succeeded");
}

TEST(ApiJson, ReadsItsOwnShapeBack) {
  v1::Inventory inventory;
  inventory.set_hostname("pc-1");
  inventory.set_firmware(v1::FIRMWARE_UEFI);
  auto* disk = inventory.add_disks();
  disk->set_size_bytes(512ULL << 30);
  disk->add_partitions()->set_start_bytes(1 << 20);
  v1::Inventory back;
  std::string why;
  ASSERT_TRUE(api::MessageFromJson(api::MessageJson(inventory, true), &back, &why)) << why;
  EXPECT_EQ(back.SerializeAsString(), inventory.SerializeAsString());

  v1::RolloutProgress progress;
  progress.set_current_wave(2);
  v1::RolloutProgress progress_back;
  ASSERT_TRUE(api::MessageFromJson(api::MessageJson(progress, false), &progress_back, &why));
  EXPECT_EQ(progress_back.current_wave(), 2u);

  EXPECT_FALSE(api::MessageFromJson("{\"firmware\": \"floppy\"}", &back, &why));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(api::MessageFromJson("lifeboat-agent: no disk", &back, &why));
}

TEST(ApiJson, OneErrorShape) {
  auto e =
      Parse(api::Text(api::ErrorObject("invalid_argument", "version: 'a b' is not...", "version")))
          ->getObject("error");
  EXPECT_EQ(e->getValue<std::string>("code"), "invalid_argument");
  EXPECT_EQ(e->getValue<std::string>("field"), "version");
  EXPECT_TRUE(e->isNull("reason"));
  auto refused =
      Parse(api::Text(api::ErrorObject("refused", "no room", {}, "no-room")))->getObject("error");
  EXPECT_TRUE(refused->isNull("field"));
  EXPECT_EQ(refused->getValue<std::string>("reason"), "no-room");
  // Every word is snake_case, as the shape promises.
  for (ErrorCode c : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists,
                      ErrorCode::kPermissionDenied, ErrorCode::kDatabase}) {
    const std::string word = ErrorCodeName(c);
    EXPECT_EQ(word.find('-'), std::string::npos) << word;
  }
}

TEST(ApiJson, EveryRefusalCarriesItsReason) {
  // Refuse() is the one way to make a refusal; its reason travels with the error, also through
  // WithContext, into the error shape.
  auto refused =
      WithContext(Result<int>(Refuse("no-room", "Lifeboat's partition is full")), "write-image");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRefused);
  EXPECT_EQ(refused.error().reason, "no-room");
  auto e =
      Parse(api::Text(api::ErrorObject(ErrorCodeName(refused.error().code), refused.error().message,
                                       refused.error().field, refused.error().reason)))
          ->getObject("error");
  EXPECT_EQ(e->getValue<std::string>("reason"), "no-room");
  EXPECT_EQ(e->getValue<std::string>("message"), "write-image: Lifeboat's partition is full");
}

TEST(VersionType, CheckedOnceWhereItEntersAndNamingItsField) {
  auto good = Version::Parse("2024.1-rc2");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->str(), "2024.1-rc2");
  EXPECT_LT(good->Compare(*Version::Parse("2024.10")), 0);
  for (const std::string& bad : std::vector<std::string>{
           "", ".", "..", "a/b", "a b", "../x", std::string(65, 'v'), std::string("a\0b", 3)}) {
    auto parsed = Version::Parse(bad, "--version");
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(parsed.error().field, "--version");
  }
  EXPECT_TRUE(ValidName("pc-0042.corp"));
  EXPECT_FALSE(ValidName("pc 42"));
}

TEST(VersionOrder, NumbersCompareAsNumbers) {
  EXPECT_LT(CompareVersions("1.9", "1.10"), 0);
  EXPECT_GT(CompareVersions("10", "9"), 0);
  EXPECT_EQ(CompareVersions("2.0", "2.0"), 0);
  EXPECT_EQ(CompareVersions("1.01", "1.1"), 0);
  EXPECT_LT(CompareVersions("2.0-rc1", "2.0-rc2"), 0);
  EXPECT_LT(CompareVersions("2.0", "2.0.1"), 0);
  EXPECT_LT(CompareVersions("2024.1", "2024.12"), 0);
  EXPECT_GT(CompareVersions("b", "a"), 0);
  EXPECT_LT(CompareVersions("", "1"), 0);
}

}  // namespace
}  // namespace lifeboat
