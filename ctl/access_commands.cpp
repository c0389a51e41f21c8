// lifeboatctl token create, operator add | list | remove, audit list: who may do what, and what
// was done.
#include <iostream>
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

int CreateToken(Context& ctx, const std::vector<std::string>& labels, const std::string& expires) {
  v1::CreateEnrollmentTokenRequest request;
  int code = 0;
  if (!ParseLabels(labels, *request.mutable_labels(), code)) return code;
  // Checked by the option's validator already.
  if (!expires.empty()) {
    const auto seconds = ParseDuration(expires)->count();
    if (seconds == 0) return Usage("--expires must be more than 0");
    request.set_expires_seconds(static_cast<uint32_t>(seconds));
  }
  return ctx.Run<v1::CreateEnrollmentTokenRequest, v1::CreateEnrollmentTokenResponse>(
      &v1::AdminService::Stub::CreateEnrollmentToken, request, [](const auto& response) {
        std::cout << "enrollment token, for one agent, until " << response.expires_at()
                  << " (put it in the agent's config as enrollment_token):\n"
                  << response.token() << "\n";
      });
}

int AddOperator(Context& ctx, const std::string& name, const std::string& role) {
  v1::CreateOperatorRequest request;
  request.set_name(name);
  request.set_role(role);
  return ctx.Run<v1::CreateOperatorRequest, v1::CreateOperatorResponse>(
      &v1::AdminService::Stub::CreateOperator, request, [](const auto& response) {
        std::cout << "operator " << response.operator_().name() << " ("
                  << response.operator_().role() << "); their token, shown only now:\n"
                  << response.token() << "\n";
      });
}

int ListOperators(Context& ctx) {
  return ctx.Run<v1::ListOperatorsRequest, v1::ListOperatorsResponse>(
      &v1::AdminService::Stub::ListOperators, {}, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& op : response.operators())
          rows.push_back({op.name(), op.role(), op.created_at()});
        Table({"NAME", "ROLE", "CREATED"}, rows);
      });
}

int RemoveOperator(Context& ctx, const std::string& name) {
  v1::RemoveOperatorRequest request;
  request.set_name(name);
  return ctx.Run<v1::RemoveOperatorRequest, v1::RemoveOperatorResponse>(
      &v1::AdminService::Stub::RemoveOperator, request,
      [&](const auto&) { std::cout << "removed operator " << name << "\n"; });
}

int ListAudit(Context& ctx, const std::string& limit) {
  v1::ListAuditRequest request;
  if (!limit.empty()) {
    const uint32_t n = *ParseCount(limit);  // checked by the option's validator
    if (n == 0 || n > 10000) return Usage("--limit is a number from 1 to 10000");
    request.set_limit(n);
  }
  return ctx.Run<v1::ListAuditRequest, v1::ListAuditResponse>(
      &v1::AdminService::Stub::ListAudit, request, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : response.entries()) {
          std::string detail =
              e.detail().size() > 60 ? e.detail().substr(0, 57) + "..." : e.detail();
          rows.push_back({std::to_string(e.id()), e.at(), e.who().empty() ? "-" : e.who(),
                          e.action(), e.target(), e.outcome(), e.peer(), detail});
        }
        Table({"ID", "AT", "WHO", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL"}, rows);
      });
}

}  // namespace

void AddAccessCommands(CLI::App& app, Context& ctx) {
  auto* token = AddGroup(app, "token", "(admin) enrollment tokens for new agents: create");
  struct TokenOptions {
    std::vector<std::string> labels;
    std::string expires;
  };
  auto t = std::make_shared<TokenOptions>();
  auto* create = AddCommand(*token, "create",
                            "a one-time token with which one agent gets its client certificate "
                            "(enrollment_token in its config)");
  create->add_option("--label", t->labels, "a label the machine gets (repeatable)")
      ->type_name("K=V");
  create->add_option("--expires", t->expires, "how long the token is valid (default 24h)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  create->callback([&ctx, t] { ctx.exit_code = CreateToken(ctx, t->labels, t->expires); });

  auto* op = AddGroup(app, "operator", "(admin) operators and their roles: add, list, remove");
  struct OperatorOptions {
    std::string name, role;
  };
  auto o = std::make_shared<OperatorOptions>();
  auto* add = AddCommand(*op, "add", "a new operator; prints their token, once");
  add->add_option("NAME", o->name, "the operator's name")->required()->type_name("");
  add->add_option("--role", o->role,
                  "viewer (reads), operator (rollouts, boot-recovery) or admin (all)")
      ->required()
      ->type_name("ROLE");
  add->callback([&ctx, o] { ctx.exit_code = AddOperator(ctx, o->name, o->role); });
  AddCommand(*op, "list", "every operator and their role")->callback([&ctx] {
    ctx.exit_code = ListOperators(ctx);
  });
  auto removed = std::make_shared<std::string>();
  auto* remove = AddCommand(*op, "remove", "remove an operator: their token stops working");
  remove->add_option("NAME", *removed, "the operator's name")->required()->type_name("");
  remove->callback([&ctx, removed] { ctx.exit_code = RemoveOperator(ctx, *removed); });

  auto* audit = AddGroup(app, "audit", "the audit log: list");
  auto limit = std::make_shared<std::string>();
  auto* list = AddCommand(*audit, "list",
                          "every change and every refused call, newest first: who, when, what, "
                          "outcome and from where");
  list->add_option("--limit", *limit, "how many entries (1 to 10000, default 100)")
      ->type_name("N")
      ->check(CountCheck());
  list->callback([&ctx, limit] { ctx.exit_code = ListAudit(ctx, *limit); });
}

}  // namespace lifeboat::ctl
