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
  for (const auto& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0)
      return Usage("--label '" + label + "' is not KEY=VALUE");
    (*request.mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  if (!expires.empty()) {
    auto seconds = ParseDuration(expires);
    if (!seconds || seconds->count() == 0)
      return Usage("--expires '" + expires + "' is not a duration above 0 (3600, 90m, 24h, 7d)");
    request.set_expires_seconds(static_cast<uint32_t>(seconds->count()));
  }
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::CreateEnrollmentTokenResponse response;
  auto s = stub->CreateEnrollmentToken(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json)
    std::cout << Json(response) << "\n";
  else
    std::cout << "enrollment token, for one agent, until " << response.expires_at()
              << " (put it in the agent's config as enrollment_token):\n"
              << response.token() << "\n";
  return 0;
}

int AddOperator(Context& ctx, const std::string& name, const std::string& role) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::CreateOperatorRequest request;
  request.set_name(name);
  request.set_role(role);
  v1::CreateOperatorResponse response;
  auto s = stub->CreateOperator(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json)
    std::cout << Json(response) << "\n";
  else
    std::cout << "operator " << response.operator_().name() << " (" << response.operator_().role()
              << "); their token, shown only now:\n"
              << response.token() << "\n";
  return 0;
}

int ListOperators(Context& ctx) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::ListOperatorsResponse response;
  auto s = stub->ListOperators(Context::Call().get(), v1::ListOperatorsRequest(), &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& op : response.operators())
    rows.push_back({op.name(), op.role(), op.created_at()});
  Table({"NAME", "ROLE", "CREATED"}, rows);
  return 0;
}

int RemoveOperator(Context& ctx, const std::string& name) {
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::RemoveOperatorRequest request;
  request.set_name(name);
  v1::RemoveOperatorResponse response;
  auto s = stub->RemoveOperator(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json)
    std::cout << Json(response) << "\n";
  else
    std::cout << "removed operator " << name << "\n";
  return 0;
}

int ListAudit(Context& ctx, const std::string& limit) {
  v1::ListAuditRequest request;
  if (!limit.empty()) {
    auto n = ParseCount(limit);
    if (!n || *n == 0 || *n > 10000) return Usage("--limit is a number from 1 to 10000");
    request.set_limit(*n);
  }
  auto* stub = ctx.Stub();
  if (!stub) return ctx.exit_code;
  v1::ListAuditResponse response;
  auto s = stub->ListAudit(Context::Call().get(), request, &response);
  if (!s.ok()) return Fail(s, ctx.json);
  if (ctx.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : response.entries()) {
    std::string detail = e.detail().size() > 60 ? e.detail().substr(0, 57) + "..." : e.detail();
    rows.push_back({std::to_string(e.id()), e.at(), e.who().empty() ? "-" : e.who(), e.action(),
                    e.target(), e.outcome(), e.peer(), detail});
  }
  Table({"ID", "AT", "WHO", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL"}, rows);
  return 0;
}

}  // namespace

void AddAccessCommands(CLI::App& app, Context& ctx) {
  auto* token = AddCommand(app, "token", "(admin) enrollment tokens for new agents: create");
  token->require_subcommand(1);
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

  auto* op = AddCommand(app, "operator", "(admin) operators and their roles: add, list, remove");
  op->require_subcommand(1);
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

  auto* audit = AddCommand(app, "audit", "the audit log: list");
  audit->require_subcommand(1);
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
