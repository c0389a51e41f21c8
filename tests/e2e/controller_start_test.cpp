// The controller's first start, as a real process: it says where it put what an operator needs
// (the first admin's token, the CA's certificate), and later starts do not say it again.
#include <gtest/gtest.h>

#include "tests/e2e/controller_process.h"

namespace lifeboat::test {
namespace {

TEST(ControllerStart, TheFirstStartSaysWhereTheAdminTokenAndTheCaAre) {
  TempDir dir;
  const std::string data = dir / "controller";
  {
    ControllerProcess first(data);
    ASSERT_GT(first.port(), 0) << first.Log();
    const std::string log = first.Log();
    EXPECT_NE(log.find("the first admin's token is in " + data + "/admin.token"), std::string::npos)
        << log;
    EXPECT_NE(log.find("its certificate is " + data + "/ca.pem"), std::string::npos) << log;
    EXPECT_EQ(Sh("stat -c %a " + Quote(data + "/admin.token")).out, "600\n");
    EXPECT_EQ(Ctl(first, "fleet summary").exit_code, 0);  // the token and CA it named work
  }
  ControllerProcess again(data);
  ASSERT_GT(again.port(), 0) << again.Log();
  EXPECT_EQ(again.Log().find("admin.token"), std::string::npos) << again.Log();
  EXPECT_EQ(again.Log().find("made this controller's CA"), std::string::npos) << again.Log();
}

// What a connecting agent is shown, read with the openssl tool: the server's certificate and the
// CA's, each once, verifying under the CA that agents are given.
TEST(ControllerStart, ItShowsItsCertificateThenTheCa) {
  TempDir dir;
  const std::string data = dir / "controller";
  ControllerProcess controller(data);
  ASSERT_GT(controller.port(), 0) << controller.Log();
  auto shown = Sh("openssl s_client -connect 127.0.0.1:" + std::to_string(controller.port()) +
                  " -CAfile " + Quote(data + "/ca.pem") + " -showcerts < /dev/null 2>&1");
  size_t certificates = 0;
  for (size_t at = shown.out.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = shown.out.find("-----BEGIN CERTIFICATE-----", at + 1))
    ++certificates;
  EXPECT_EQ(certificates, 2u) << shown.out;
  EXPECT_NE(shown.out.find(" 0 s:CN = lifeboat-controller"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Verify return code: 0 (ok)"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace lifeboat::test
