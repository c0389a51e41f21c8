#include "proto/api_json_read.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "lifeboat/v1/json_options.pb.h"

namespace lifeboat::api {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Value;

namespace {

void ToProtobufForm(Value& value, const Descriptor* type);

// One value of field `f` from our shape to protobuf's JSON form: an enum word to its value's full
// name, a 1-based number back to 0-based, a message's fields in turn.
void FieldValueToProtobufForm(Value& v, const FieldDescriptor* f) {
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM && v.kind_case() == Value::kStringValue) {
    std::string name = EnumValuePrefix(f->enum_type()->name());
    for (char c : v.string_value())
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    v.set_string_value(name);
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    ToProtobufForm(v, f->message_type());
  } else if (f->options().GetExtension(v1::json_one_based) &&
             v.kind_case() == Value::kNumberValue && v.number_value() >= 1) {
    v.set_number_value(v.number_value() - 1);
  }
}

void ToProtobufForm(Value& value, const Descriptor* type) {
  if (value.kind_case() != Value::kStructValue) return;
  for (auto& [name, v] : *value.mutable_struct_value()->mutable_fields()) {
    const FieldDescriptor* f = type->FindFieldByName(name);
    if (f == nullptr) continue;  // the parser below names it
    if (f->is_map()) {
      if (v.kind_case() != Value::kStructValue) continue;
      for (auto& [key, entry] : *v.mutable_struct_value()->mutable_fields())
        FieldValueToProtobufForm(entry, f->message_type()->map_value());
    } else if (f->is_repeated() && v.kind_case() == Value::kListValue) {
      for (auto& element : *v.mutable_list_value()->mutable_values())
        FieldValueToProtobufForm(element, f);
    } else {
      FieldValueToProtobufForm(v, f);
    }
  }
}

}  // namespace

bool MessageFromJson(const std::string& json, google::protobuf::Message* out, std::string* error) {
  Value tree;
  auto status = google::protobuf::util::JsonStringToMessage(json, &tree);
  if (status.ok()) {
    ToProtobufForm(tree, out->GetDescriptor());
    std::string protobuf_form;
    status = google::protobuf::util::MessageToJsonString(tree, &protobuf_form);
    if (status.ok()) status = google::protobuf::util::JsonStringToMessage(protobuf_form, out);
  }
  if (!status.ok()) *error = std::string(status.message());
  return status.ok();
}

}  // namespace lifeboat::api
