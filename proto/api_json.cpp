#include "proto/api_json.h"

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Array.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <cctype>
#include <sstream>

#include "lifeboat/v1/json_options.pb.h"
#include "proto/api_json_read.h"

namespace lifeboat::api {

using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string Base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << bytes;
  encoder.close();
  return out.str();
}

Poco::Dynamic::Var EnumVar(const EnumValueDescriptor& value) {
  const std::string word = EnumWord(value);
  if (word.empty()) return Poco::Dynamic::Var();  // null
  return word;
}

// One value of `field` (the index-th when repeated, else the single one).
Poco::Dynamic::Var Value(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  const uint64_t one_based = f->options().GetExtension(v1::json_one_based) ? 1 : 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return static_cast<Poco::Int64>(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f)) +
             static_cast<Poco::Int64>(one_based);
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<Poco::Int64>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f)) +
             static_cast<Poco::Int64>(one_based);
    case FieldDescriptor::CPPTYPE_UINT32:
      return static_cast<Poco::UInt64>(rep ? r->GetRepeatedUInt32(m, f, index)
                                           : r->GetUInt32(m, f)) +
             one_based;
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<Poco::UInt64>(rep ? r->GetRepeatedUInt64(m, f, index)
                                           : r->GetUInt64(m, f)) +
             one_based;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return static_cast<double>(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumVar(rep ? *r->GetRepeatedEnum(m, f, index) : *r->GetEnum(m, f));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      return f->type() == FieldDescriptor::TYPE_BYTES ? Base64(s) : s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageObject(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
  }
  return Poco::Dynamic::Var();
}

// A map field (a repeated entry message of key and value) as an object keyed by the key's text.
Object::Ptr MapObject(const Message& m, const FieldDescriptor* f) {
  Object::Ptr out = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    const Message& entry = r->GetRepeatedMessage(m, f, i);
    const FieldDescriptor* key = f->message_type()->map_key();
    const FieldDescriptor* value = f->message_type()->map_value();
    out->set(Value(entry, key, -1).convert<std::string>(), Value(entry, value, -1));
  }
  return out;
}

}  // namespace

std::string EnumWord(const EnumValueDescriptor& value) {
  std::string name = value.name();
  const std::string prefix = EnumValuePrefix(value.type()->name());
  if (name.starts_with(prefix)) name = name.substr(prefix.size());
  if (name == "UNSPECIFIED") return "";
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

Object::Ptr MessageObject(const Message& m) {
  Object::Ptr out = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  const auto* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      out->set(f->name(), MapObject(m, f));
    } else if (f->is_repeated()) {
      Array::Ptr list = new Array;
      for (int k = 0; k < r->FieldSize(m, f); ++k) list->add(Value(m, f, k));
      out->set(f->name(), list);
    } else if (f->containing_oneof() != nullptr && !r->HasField(m, f)) {
      continue;  // a oneof shows only the member that is set
    } else if (f->has_presence() && !r->HasField(m, f)) {
      out->set(f->name(), Poco::Dynamic::Var());  // an optional field or message left unset: null
    } else {
      out->set(f->name(), Value(m, f, -1));
    }
  }
  return out;
}

std::string Text(const Object::Ptr& object, bool indent) {
  std::ostringstream out;
  object->stringify(out, indent ? 2 : 0);
  return out.str();
}

std::string MessageJson(const Message& message, bool indent) {
  return Text(MessageObject(message), indent);
}

Object::Ptr ErrorObject(const std::string& code, const std::string& message,
                        const std::string& field, const std::string& reason) {
  Object::Ptr error = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  error->set("code", code);
  error->set("message", message);
  error->set("field", field.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(field));
  error->set("reason", reason.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(reason));
  Object::Ptr out = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  out->set("error", error);
  return out;
}

}  // namespace lifeboat::api
