// Null-safe reads of a status object's fields. nlohmann's value(key,
// default) throws when the key holds another type — null, say, which
// status uses for what a stopped rvgd or an unbound secondary cannot know
// — and an exception on rvgd's HTTP or notifier thread would end rvgd.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace rvg {

// `key`'s string, or "" when absent or not a string.
inline std::string JsonString(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// `key`'s unsigned number, or 0 when absent, negative or not a number.
inline uint64_t JsonUint(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// `key`'s boolean, or `absent` when absent or not a boolean.
inline bool JsonBool(const nlohmann::json& object, const char* key, bool absent) {
  if (!object.is_object()) return absent;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : absent;
}

}  // namespace rvg
