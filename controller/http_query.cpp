#include "controller/http_query.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <cctype>
#include <map>

#include "common/units.h"
#include "proto/api_json.h"

namespace lifeboat::controller {

namespace {

std::unexpected<Error> Unknown(const std::string& name, const std::string& known) {
  return BadInput(name, name + ": not a parameter of this path (" +
                            (known.empty() ? "it takes none" : "it takes " + known) + ")");
}

Result<bool> Boolean(const std::string& name, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return BadInput(name, name + ": '" + value + "' is not true or false");
}

Result<uint32_t> Count(const std::string& name, const std::string& value) {
  auto n = ParseNumber(value);
  if (!n || *n > UINT32_MAX) return BadInput(name, name + ": '" + value + "' is not a count");
  return static_cast<uint32_t>(*n);
}

Result<v1::AgentState> State(const std::string& value) {
  std::string upper;
  for (char c : value) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  v1::AgentState state = v1::AGENT_STATE_UNSPECIFIED;
  if (value.empty() || upper == "UNSPECIFIED" ||
      !v1::AgentState_Parse("AGENT_STATE_" + upper, &state))
    return BadInput("state", "state: '" + value + "' is not idle, downloading, applying or failed");
  return state;
}

std::string CsvCell(std::string cell) {
  if (!cell.empty() && std::string("=+-@").find(cell[0]) != std::string::npos) cell = "'" + cell;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// page_size and page_token, which every listing takes: whether `name` was one of them.
template <typename Request>
Result<bool> Paging(const std::string& name, const std::string& value, Request& r) {
  if (name == "page_size") {
    auto n = Count(name, value);
    LIFEBOAT_TRY(n);
    r.set_page_size(*n);
    return true;
  }
  if (name == "page_token") {
    r.set_page_token(value);
    return true;
  }
  return false;
}

}  // namespace

Result<v1::ListRolloutMachinesRequest> RolloutMachinesQuery(uint64_t id,
                                                            const QueryParameters& query) {
  v1::ListRolloutMachinesRequest r;
  r.set_id(id);
  for (const auto& [name, value] : query) {
    auto paging = Paging(name, value, r);
    LIFEBOAT_TRY(paging);
    if (!*paging) return Unknown(name, "page_size, page_token");
  }
  return r;
}

Result<v1::RequestBootRecoveryRequest> BootRecoveryBody(const std::string& machine_id,
                                                        const std::string& body) {
  v1::RequestBootRecoveryRequest r;
  r.set_machine_id(machine_id);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return r;
  Poco::JSON::Object::Ptr object;
  try {
    object = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return BadInput("body", "body: not a JSON object: " + e.displayText());
  }
  if (!object) return BadInput("body", "body: not a JSON object");
  for (const auto& [name, value] : *object) {
    if (name == "network" || name == "iso") {
      if (!value.isBoolean()) return BadInput(name, name + ": not true or false");
      const bool on = value.extract<bool>();
      name == "network" ? r.set_network(on) : r.set_iso(on);
    } else if (name == "version") {
      if (!value.isString()) return BadInput(name, name + ": not a string");
      r.set_version(value.extract<std::string>());
    } else {
      return BadInput(name, name +
                                ": not a field of a boot-recovery request (network, version, "
                                "iso)");
    }
  }
  if (!r.network() && (r.iso() || !r.version().empty()))
    return BadInput("network", "network: version and iso apply to a network boot only");
  return r;
}

Result<v1::ListMachinesRequest> MachinesQuery(const QueryParameters& query) {
  v1::ListMachinesRequest r;
  for (const auto& [name, value] : query) {
    auto paging = Paging(name, value, r);
    LIFEBOAT_TRY(paging);
    if (*paging) continue;
    // `version` as the issue and the dashboard say it; `installed_version` as the message does.
    if (name == "version" || name == "installed_version") {
      r.set_installed_version(value);
    } else if (name == "state") {
      auto state = State(value);
      LIFEBOAT_TRY(state);
      r.set_state(*state);
    } else if (name == "offline") {
      auto offline = Boolean(name, value);
      LIFEBOAT_TRY(offline);
      r.set_offline(*offline);
    } else if (name == "label") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0)
        return BadInput(name, "label: '" + value + "' is not KEY=VALUE");
      (*r.mutable_labels())[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (name == "winre_free_below") {
      auto size = ParseSize(value);
      if (!size)
        return BadInput(name, "winre_free_below: '" + value + "' is not a size (250MB, 1G, bytes)");
      r.set_winre_free_below_bytes(size->value);
    } else {
      return Unknown(name,
                     "page_size, page_token, version (or installed_version), state, offline, "
                     "label, winre_free_below");
    }
  }
  return r;
}

Result<v1::ListAuditRequest> AuditQuery(const QueryParameters& query) {
  v1::ListAuditRequest r;
  for (const auto& [name, value] : query) {
    auto paging = Paging(name, value, r);
    LIFEBOAT_TRY(paging);
    if (*paging) continue;
    if (name == "who") {
      r.set_who(value);
    } else if (name == "action") {
      r.set_action(value);
    } else if (name == "outcome") {
      r.set_outcome(value);
    } else {
      return Unknown(name, "page_size, page_token, who, action, outcome");
    }
  }
  return r;
}

Result<v1::ListImagesRequest> ImagesQuery(const QueryParameters& query) {
  v1::ListImagesRequest r;
  for (const auto& [name, value] : query) {
    if (name != "include_retired") return Unknown(name, "include_retired");
    auto include = Boolean(name, value);
    LIFEBOAT_TRY(include);
    r.set_include_retired(*include);
  }
  return r;
}

Result<void> NoQuery(const QueryParameters& query) {
  if (!query.empty()) return Unknown(query.front().first, "");
  return {};
}

std::string MachinesCsvHeader() {
  return "id,hostname,installed_version,state,offline,last_seen,winre_size_bytes,"
         "winre_free_bytes,labels\r\n";
}

std::string MachineCsvLine(const v1::Machine& m) {
  std::string labels;
  for (const auto& [k, v] :
       std::map<std::string, std::string>(m.labels().begin(), m.labels().end()))
    labels += (labels.empty() ? "" : ";") + k + "=" + v;
  const auto& inventory = m.inventory();
  const std::vector<std::string> cells = {
      m.id(),
      m.hostname(),
      m.installed_version(),
      api::EnumWord(*v1::AgentState_descriptor()->FindValueByNumber(m.state())),
      m.offline() ? "true" : "false",
      m.last_seen(),
      std::to_string(inventory.winre_size_bytes()),
      inventory.has_winre_free_bytes() ? std::to_string(inventory.winre_free_bytes()) : "",
      labels};
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + CsvCell(cells[i]);
  return line + "\r\n";
}

}  // namespace lifeboat::controller
