// lifeboatctl recovery-entry publish | withdraw | show: the site-wide network recovery entry
// (controller/site_entry.h), offered to every accepted machine's network boot in a menu that
// starts the local disk unless the recovery image is chosen at the machine.
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"

namespace lifeboat::ctl {

namespace {

void PrintEntry(const v1::SiteRecoveryEntry& e) {
  if (e.version().empty()) {
    std::cout << "no site-wide recovery entry is published: machines without a request start "
                 "their local disk\n";
    return;
  }
  std::cout << "version    " << e.version() << "\npublished  " << e.published_at() << " by "
            << e.published_by() << "\nmenu       " << e.timeout_seconds()
            << " s, then the local disk\n";
}

int Publish(Context& ctx, const std::string& version, const std::string& timeout) {
  v1::SetSiteRecoveryEntryRequest request;
  request.set_version(version);
  if (!timeout.empty())
    request.set_timeout_seconds(static_cast<uint32_t>(ParseDuration(timeout)->count()));
  return ctx.Run<v1::SetSiteRecoveryEntryRequest, v1::SiteRecoveryEntryResponse>(
      &v1::AdminService::Stub::SetSiteRecoveryEntry, request,
      [](const v1::SiteRecoveryEntryResponse& r) {
        const auto& e = r.recovery_entry();
        std::cout << "published: every accepted machine's network boot offers recovery image "
                  << e.version() << " for " << e.timeout_seconds()
                  << " s (key R), then starts its local disk\n";
      });
}

int Withdraw(Context& ctx) {
  v1::SetSiteRecoveryEntryRequest request;
  request.set_withdraw(true);
  return ctx.Run<v1::SetSiteRecoveryEntryRequest, v1::SiteRecoveryEntryResponse>(
      &v1::AdminService::Stub::SetSiteRecoveryEntry, request,
      [](const v1::SiteRecoveryEntryResponse& r) {
        std::cout << "withdrawn: the entry of recovery image " << r.recovery_entry().version()
                  << " is offered no more (boots under way finish)\n";
      });
}

int Show(Context& ctx) {
  return ctx.Run<v1::GetSiteRecoveryEntryRequest, v1::SiteRecoveryEntryResponse>(
      &v1::AdminService::Stub::GetSiteRecoveryEntry, {},
      [](const v1::SiteRecoveryEntryResponse& r) { PrintEntry(r.recovery_entry()); });
}

}  // namespace

void AddRecoveryEntryCommands(CLI::App& app, Context& ctx) {
  auto* group =
      AddGroup(app, "recovery-entry",
               "the site-wide network recovery entry: publish, withdraw, show (see docs/media.md)");
  group->footer(
      "While an entry is published, every accepted machine whose network boot has nothing else "
      "to do (no request, no work) shows a menu: its local disk, started after the timeout, and "
      "the recovery image, chosen with R. The menu cannot be edited. Each choice is in the audit "
      "log as NetworkRecoveryBoot, with the machine and the operator who published the entry. "
      "Unknown and pending machines never see it. For one machine, once, use "
      "`lifeboatctl machine boot-recovery ID --network` instead.");

  auto version = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>();
  auto* publish = AddCommand(*group, "publish",
                             "(operator) offer a recovery image at every accepted machine's "
                             "network boot, replacing any entry");
  publish->add_option("--image", *version, "the published version (default: the newest)");
  publish
      ->add_option("--timeout", *timeout,
                   "how long the menu waits before the local disk starts (default 5s, at "
                   "most 5m; every network boot of the site waits this long)")
      ->check(DurationCheck());
  publish->callback([&ctx, version, timeout] { ctx.exit_code = Publish(ctx, *version, *timeout); });

  AddCommand(*group, "withdraw",
             "(operator) stop offering the entry; boots already under way finish")
      ->callback([&ctx] { ctx.exit_code = Withdraw(ctx); });
  AddCommand(*group, "show", "the entry published, by whom and when")->callback([&ctx] {
    ctx.exit_code = Show(ctx);
  });
}

}  // namespace lifeboat::ctl
