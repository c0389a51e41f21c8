// The one JSON shape that lifeboatctl --json, the HTTP API and lifeboat-agent --json share
// (docs/json.md): numbers as numbers, states as lower-case words, 1-based waves, and one error
// object. Made here from the API's protobuf messages by reflection, so that a new field gets the
// same treatment without a line of code.
#pragma once

#include <Poco/JSON/Object.h>
#include <google/protobuf/message.h>

#include <string>

namespace lifeboat::api {

// A message as an object: every field under its .proto name (defaults included, so the shape
// does not depend on the values); 64-bit integers as JSON numbers; an enum value as the lower-case
// word after its type's prefix (AGENT_STATE_IDLE -> "idle", *_UNSPECIFIED -> null); bytes as
// base64; maps as objects; fields marked json_one_based plus one.
Poco::JSON::Object::Ptr MessageObject(const google::protobuf::Message& message);

// MessageObject as text: indented for people (lifeboatctl) or on one line (HTTP).
std::string MessageJson(const google::protobuf::Message& message, bool indent);

// {"error": {"code": CODE, "message": MESSAGE, "field": FIELD or null, "reason": REASON or null}}:
// code is a word of ErrorCodeName (common/error.h); field names the option or request field the
// error is about; reason says why a refusal refused (a word).
Poco::JSON::Object::Ptr ErrorObject(const std::string& code, const std::string& message,
                                    const std::string& field = {}, const std::string& reason = {});

// Any object as JSON text, through Poco (which escapes every control character).
std::string Text(const Poco::JSON::Object::Ptr& object, bool indent = false);

// "ROLLOUT_STATE_ACTIVE" of enum RolloutState -> "active": the value's name without the prefix
// its type's name gives it, in lower case; "" for the UNSPECIFIED value.
std::string EnumWord(const google::protobuf::EnumValueDescriptor& value);

}  // namespace lifeboat::api
