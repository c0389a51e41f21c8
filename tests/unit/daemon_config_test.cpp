// The agent daemon's config file: every key, and errors that name the file and line.
#include "agent/daemon_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agent/contact/enrollment.h"
#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

std::string Write(const test::TempDir& dir, const std::string& text) {
  const std::string path = dir / "agent.conf";
  std::ofstream(path) << text;
  return path;
}

TEST(DaemonConfig, ReadsEveryKey) {
  test::TempDir dir;
  auto c = ReadDaemonConfig(Write(dir,
                                  "# comment\n"
                                  "controller = ctl.corp:7443   # trailing comment\n"
                                  "machine_id = pc-7\n"
                                  "labels = site=paris, ring = canary\n"
                                  "disk = /dev/sdb\n"
                                  "state_dir = /srv/lifeboat\n"
                                  "link = main-menu\n"
                                  "maintenance_window = 22:30-05:00\n"
                                  "lock_wait = 42\n"
                                  "renew_certificate_before = 90d\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->controller, "ctl.corp:7443");
  EXPECT_EQ(c->machine_id, "pc-7");
  EXPECT_EQ(c->labels, (std::map<std::string, std::string>{{"site", "paris"}, {"ring", "canary"}}));
  EXPECT_EQ(c->disk, "/dev/sdb");
  EXPECT_EQ(c->state_dir, "/srv/lifeboat");
  EXPECT_EQ(c->link, "main-menu");
  ASSERT_TRUE(c->window);
  EXPECT_EQ(c->window->first, 22 * 60 + 30);
  EXPECT_EQ(c->window->second, 5 * 60);
  EXPECT_EQ(c->lock_wait_seconds, 42);
  EXPECT_EQ(c->renew_certificate_before_seconds, 90LL * 86400);
}

// A certificate is renewed when less than the margin is left, by default a third of its lifetime.
TEST(CertificateRenewal, IsDueWhenLessThanTheMarginIsLeft) {
  const long long day = 86400, issued = 1'000'000'000, expires = issued + 825 * day;
  EXPECT_FALSE(RenewalDue(issued, expires, issued, 0));
  EXPECT_FALSE(RenewalDue(issued, expires, expires - 276 * day, 0));  // 276 of 825 days left
  EXPECT_TRUE(RenewalDue(issued, expires, expires - 274 * day, 0));
  EXPECT_TRUE(RenewalDue(issued, expires, expires + day, 0));  // expired: due (and logged)
  EXPECT_FALSE(RenewalDue(issued, expires, expires - 31 * day, 30 * day));
  EXPECT_TRUE(RenewalDue(issued, expires, expires - 29 * day, 30 * day));
}

TEST(DaemonConfig, DefaultsWhenEmpty) {
  test::TempDir dir;
  auto c = ReadDaemonConfig(Write(dir, "\n# nothing\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->controller, "127.0.0.1:7443");
  EXPECT_EQ(c->state_dir, "/var/lib/lifeboat");
  EXPECT_FALSE(c->window);
}

TEST(DaemonConfig, ErrorsNameTheFileAndLine) {
  test::TempDir dir;
  const std::pair<const char*, const char*> bad[] = {
      {"controller = x\nno equals sign\n", ":2: expected key = value"},
      {"frobnicate = 1\n", ":1: unknown key 'frobnicate'"},
      {"labels = site\n", ":1: label 'site' is not key=value"},
      {"maintenance_window = 25:00-01:00\n", ":1: maintenance_window is HH:MM-HH:MM"},
      {"lock_wait = soon\n", ":1: lock_wait is a duration"},
      {"renew_certificate_before = 0\n", ":1: renew_certificate_before is a duration above 0"},
      {"lock_wait = 2d\n", ":1: lock_wait is a duration up to a day"},
      {"disk = /dev/sda\ndisk = /dev/sdb\n", ":2: 'disk' is set twice"},
  };
  for (const auto& [text, words] : bad) {
    auto c = ReadDaemonConfig(Write(dir, text));
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find(words), std::string::npos) << c.error().message;
  }
  EXPECT_EQ(ReadDaemonConfig(dir / "missing.conf").error().code, ErrorCode::kNotFound);
}

TEST(DaemonConfig, LockWaitTakesAUnit) {
  test::TempDir dir;
  for (const auto& [text, seconds] :
       {std::pair{"lock_wait = 90\n", 90}, std::pair{"lock_wait = 5m\n", 300},
        std::pair{"lock_wait = 1h\n", 3600}}) {
    auto c = ReadDaemonConfig(Write(dir, text));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->lock_wait_seconds, seconds) << text;
  }
}

}  // namespace
}  // namespace lifeboat::agent
