#include "compose/image_path.h"

#include "common/utf16.h"
#include "common/version.h"

namespace lifeboat::compose {

namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : path) {
    if (c == '/' || c == '\\') {
      if (!current.empty()) parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) parts.push_back(std::move(current));
  return parts;
}

Result<void> CheckComponent(const std::string& part, std::string_view whole) {
  auto refuse = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument, Quoted(std::string(whole)) + " " + why);
  };
  if (part == "." || part == "..") return refuse("leaves its folder (\"" + part + "\")");
  // wimlib stores names as UTF-16 and would refuse this only when the image is written.
  if (!IsValidUtf8(part)) return refuse("is not valid UTF-8");
  for (unsigned char c : part) {
    if (c == ':')
      return refuse(
          "holds ':' (a drive letter or an NTFS stream): image paths start at the image root, "
          "written \\Windows\\..., which is X:\\ when the image runs");
    if (c < 0x20 || c == '<' || c == '>' || c == '"' || c == '|' || c == '?' || c == '*')
      return refuse("holds a character Windows forbids in names");
  }
  if (part.back() == '.' || part.back() == ' ')
    return refuse("has a name ending in a dot or a space, which Windows drops");
  return {};
}

}  // namespace

Result<std::string> ImagePath(std::string_view written) {
  if (written.empty()) return Fail(ErrorCode::kInvalidArgument, "an empty image path");
  std::vector<std::string> parts = Split(written);
  for (const auto& part : parts) LIFEBOAT_TRY(CheckComponent(part, written));
  return JoinImagePath("\\", parts);
}

Result<std::vector<std::string>> RelativeComponents(std::string_view member) {
  if (member.empty()) return Fail(ErrorCode::kInvalidArgument, "an empty member name");
  if (member.front() == '/' || member.front() == '\\')
    return Fail(ErrorCode::kInvalidArgument,
                Quoted(std::string(member)) + " is absolute: it would choose where it lands");
  std::vector<std::string> parts = Split(member);
  for (const auto& part : parts) LIFEBOAT_TRY(CheckComponent(part, member));
  if (parts.empty()) return Fail(ErrorCode::kInvalidArgument, "an empty member name");
  return parts;
}

std::string JoinImagePath(const std::string& base, const std::vector<std::string>& components) {
  std::string path = base == "\\" ? "" : base;
  for (const auto& part : components) path += "\\" + part;
  return path.empty() ? "\\" : path;
}

std::string ImagePathKey(std::string_view image_path) {
  std::string key(image_path);
  for (char& c : key)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return key;
}

std::string ParentImagePath(const std::string& image_path) {
  if (image_path == "\\") return "";
  const size_t slash = image_path.rfind('\\');
  return slash == 0 ? "\\" : image_path.substr(0, slash);
}

}  // namespace lifeboat::compose
