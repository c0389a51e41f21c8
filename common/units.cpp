#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace lifeboat {

std::string HumanSize(Bytes b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b.value);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0 || std::fmod(v, 1.0) == 0.0) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  }
  return buf;
}

std::optional<Bytes> ParseSize(std::string_view text) {
  size_t i = 0;
  uint64_t number = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (__builtin_mul_overflow(number, 10, &number) ||
        __builtin_add_overflow(number, static_cast<uint64_t>(text[i] - '0'), &number))
      return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string suffix;
  for (; i < text.size(); ++i)
    suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  uint64_t factor = 0;
  if (suffix.empty() || suffix == "B")
    factor = 1;
  else if (suffix == "K" || suffix == "KIB")
    factor = 1ULL << 10;
  else if (suffix == "M" || suffix == "MIB")
    factor = 1ULL << 20;
  else if (suffix == "G" || suffix == "GIB")
    factor = 1ULL << 30;
  else if (suffix == "T" || suffix == "TIB")
    factor = 1ULL << 40;
  else if (suffix == "KB")
    factor = 1000ULL;
  else if (suffix == "MB")
    factor = 1000ULL * 1000;
  else if (suffix == "GB")
    factor = 1000ULL * 1000 * 1000;
  else if (suffix == "TB")
    factor = 1000ULL * 1000 * 1000 * 1000;
  else
    return std::nullopt;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(number, factor, &bytes)) return std::nullopt;
  return Bytes{bytes};
}

namespace {

// The decimal digits of `text` as a number; nullopt when empty, not all digits, or over 64 bits.
std::optional<uint64_t> Digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t number = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (__builtin_mul_overflow(number, 10, &number) ||
        __builtin_add_overflow(number, static_cast<uint64_t>(c - '0'), &number))
      return std::nullopt;
  }
  return number;
}

}  // namespace

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  uint64_t unit = 1;
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back()))) {
    switch (text.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    text.remove_suffix(1);
  }
  auto number = Digits(text);
  uint64_t seconds = 0;
  if (!number || __builtin_mul_overflow(*number, unit, &seconds) || seconds > 0xFFFFFFFFULL)
    return std::nullopt;
  return std::chrono::seconds(seconds);
}

std::optional<uint64_t> ParseNumber(std::string_view text) { return Digits(text); }

std::optional<uint32_t> ParseCount(std::string_view text) {
  auto number = Digits(text);
  if (!number || *number > 0xFFFFFFFFULL) return std::nullopt;
  return static_cast<uint32_t>(*number);
}

}  // namespace lifeboat
