// lifeboatctl token create | list | revoke, operator add | list | remove, audit list: who may do
// what, and what was done.
#include <iostream>
#include <memory>

#include "common/cli.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

int CreateToken(Context& ctx, const std::vector<std::string>& labels, const std::string& expires,
                uint32_t uses) {
  v1::CreateEnrollmentTokenRequest request;
  request.set_uses(uses);
  int code = 0;
  if (!ParseLabels(labels, *request.mutable_labels(), code)) return code;
  // Checked by the option's validator already.
  if (!expires.empty()) {
    const auto seconds = ParseDuration(expires)->count();
    if (seconds == 0) return Usage("--expires must be more than 0");
    request.set_expires_seconds(static_cast<uint32_t>(seconds));
  }
  return ctx.Run<v1::CreateEnrollmentTokenRequest, v1::CreateEnrollmentTokenResponse>(
      &v1::AdminService::Stub::CreateEnrollmentToken, request, [uses](const auto& response) {
        std::cout << "enrollment token " << response.id() << ", for "
                  << (uses > 1 ? std::to_string(uses) + " agents" : std::string("one agent"))
                  << ", until " << response.expires_at()
                  << " (put it in the agent's config as enrollment_token; shown only now):\n"
                  << response.token() << "\n";
      });
}

int ListTokens(Context& ctx) {
  return ctx.Run<v1::ListEnrollmentTokensRequest, v1::ListEnrollmentTokensResponse>(
      &v1::AdminService::Stub::ListEnrollmentTokens, {}, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& t : response.tokens()) {
          std::string labels;
          for (const auto& [k, v] : t.labels()) labels += (labels.empty() ? "" : ",") + k + "=" + v;
          rows.push_back({t.id(), t.state(),
                          std::to_string(t.uses()) + "/" + std::to_string(t.max_uses()),
                          t.expires_at(), t.last_used_by().empty() ? "-" : t.last_used_by(),
                          labels.empty() ? "-" : labels, t.created_by()});
        }
        Table({"ID", "STATE", "USES", "EXPIRES", "LAST USED BY", "LABELS", "CREATED BY"}, rows);
      });
}

int RevokeToken(Context& ctx, const std::string& id) {
  v1::RevokeEnrollmentTokenRequest request;
  request.set_id(id);
  return ctx.Run<v1::RevokeEnrollmentTokenRequest, v1::RevokeEnrollmentTokenResponse>(
      &v1::AdminService::Stub::RevokeEnrollmentToken, request, [&](const auto&) {
        std::cout << "revoked enrollment token " << id
                  << "; machines enrolled with it stay enrolled (machine revoke refuses one)\n";
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

struct AuditOptions {
  std::string limit, page_token, who, action, outcome;
};

int ListAudit(Context& ctx, const AuditOptions& o) {
  v1::ListAuditRequest request;
  if (!o.limit.empty()) {
    const uint32_t n = *ParseCount(o.limit);  // checked by the option's validator
    if (n == 0 || n > 10000) return Usage("--limit is a number from 1 to 10000");
    request.set_page_size(n);
  }
  request.set_page_token(o.page_token);
  request.set_who(o.who);
  request.set_action(o.action);
  request.set_outcome(o.outcome);
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
        if (!response.next_page_token().empty())
          std::cout << "\nolder entries: lifeboatctl audit list --page-token "
                    << response.next_page_token() << " (with the same filters)\n";
      });
}

}  // namespace

void AddAccessCommands(CLI::App& app, Context& ctx) {
  auto* token =
      AddGroup(app, "token", "(admin) enrollment tokens for new agents: create, list, revoke");
  struct TokenOptions {
    std::vector<std::string> labels;
    std::string expires;
    uint32_t uses = 1;
    std::string id;
  };
  auto t = std::make_shared<TokenOptions>();
  auto* create = AddCommand(*token, "create",
                            "a token with which an agent gets its client certificate "
                            "(enrollment_token in its config): once, or --uses times");
  create->add_option("--label", t->labels, "a label the machine gets (repeatable)")
      ->type_name("K=V");
  create->add_option("--expires", t->expires, "how long the token is valid (default 24h)")
      ->type_name("DURATION")
      ->check(DurationCheck());
  create
      ->add_option("--uses", t->uses,
                   "how many agents may enroll with it (default 1). More makes a site's key for "
                   "zero-touch enrollment: keep it like a password, give it fixed --label's and a "
                   "short --expires, and revoke it when the site is done")
      ->type_name("N")
      ->check(CLI::Range(1u, 100000u).description("1 to 100000"));
  create->callback([&ctx, t] { ctx.exit_code = CreateToken(ctx, t->labels, t->expires, t->uses); });
  auto* token_list = AddCommand(*token, "list",
                                "every token made, newest first: state, uses, expiry, labels (the "
                                "tokens themselves are never shown again)");
  token_list->callback([&ctx] { ctx.exit_code = ListTokens(ctx); });
  auto* revoke =
      AddCommand(*token, "revoke", "a token stops working at once; machines enrolled with it stay");
  revoke->add_option("ID", t->id, "the token's id, as token create and token list show it")
      ->required()
      ->type_name("");
  revoke->callback([&ctx, t] { ctx.exit_code = RevokeToken(ctx, t->id); });

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
  auto a = std::make_shared<AuditOptions>();
  auto* list = AddCommand(*audit, "list",
                          "every change and every refused call, newest first: who, when, what, "
                          "outcome and from where");
  list->add_option("--limit", a->limit, "how many entries (1 to 10000, default 100)")
      ->type_name("N")
      ->check(CountCheck());
  list->add_option("--who", a->who, "only this operator's")->type_name("NAME");
  list->add_option("--action", a->action, "only this call's (CreateRollout, Enroll, ...)")
      ->type_name("ACTION");
  list->add_option("--outcome", a->outcome, "only this outcome (ok, denied, failed)")
      ->type_name("OUTCOME");
  list->add_option("--page-token", a->page_token,
                   "the older entries after a page (its next_page_token)")
      ->type_name("TOKEN");
  list->callback([&ctx, a] { ctx.exit_code = ListAudit(ctx, *a); });
}

}  // namespace lifeboat::ctl
