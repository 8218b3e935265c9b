#include "cli/rvgadm/arg_values.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/dirty_map.h"
#include "core/size_parse.h"

namespace rvg {

namespace {

Status Usage(const std::string& message) { return Status::Error(message, EINVAL); }

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

bool IsDigits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Status CheckName(const std::string& kind, const std::string& name) {
  constexpr size_t kMaxNameLength = 64;
  bool valid = !name.empty() && name.size() <= kMaxNameLength && name[0] != '.' && name[0] != '-';
  for (char c : name) valid = valid && IsNameChar(c);
  if (valid) return Status::Ok();
  return Usage(kind + " name '" + name +
               "' is not valid: use 1 to 64 letters, digits, '_', '.' or '-', "
               "not starting with '.' or '-'");
}

std::string AbsolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return path;
  return absolute.lexically_normal().string();
}

Result<PathAndSize> ParsePathAndSize(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Usage("'" + text + "' must be PATH:SIZE, e.g. /srv/rvg/data.img:1G");
  }
  Result<uint64_t> size = ParseSize(text.substr(colon + 1));
  if (!size.ok()) return Usage("'" + text + "': " + size.status().message());
  if (*size == 0) return Usage("'" + text + "': the size must not be 0");
  return PathAndSize{AbsolutePath(text.substr(0, colon)), *size};
}

Result<VolumeSpec> ParseVolumeArg(const std::string& text, uint32_t id) {
  auto eq = text.find('=');
  if (eq == std::string::npos) {
    return Usage("'" + text + "' must be NAME=PATH:SIZE, e.g. data=/srv/rvg/data.img:1G");
  }
  VolumeSpec spec;
  spec.id = id;
  spec.name = text.substr(0, eq);
  Status status = CheckName("volume", spec.name);
  if (!status.ok()) return status;
  Result<PathAndSize> location = ParsePathAndSize(text.substr(eq + 1));
  if (!location.ok()) return location.status();
  // Block devices come in 512-byte sectors; a loop device on an odd-sized
  // image would silently lose the tail.
  if (location->size % 512 != 0) {
    return Usage("'" + text + "': the size must be a multiple of 512 bytes");
  }
  spec.path = location->path;
  spec.size = location->size;
  return spec;
}

Status CheckEndpointArg(const std::string& text) {
  const std::string hint = "'" + text +
                           "' is not an endpoint: use tcp://HOST:PORT (e.g. tcp://127.0.0.1:7001) "
                           "or ipc://PATH";
  if (text.rfind("ipc://", 0) == 0) return text.size() > 6 ? Status::Ok() : Usage(hint);
  if (text.rfind("tcp://", 0) != 0) return Usage(hint);
  std::string host_port = text.substr(6);
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) return Usage(hint);
  std::string port = host_port.substr(colon + 1);
  if (!IsDigits(port) || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535) {
    return Usage(hint);
  }
  return Status::Ok();
}

Result<std::pair<std::string, std::string>> SplitKeyValue(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Usage("'" + text + "' must be KEY=VALUE, e.g. synchronous=override");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Status CheckRegionSize(const std::string& text) {
  Result<uint64_t> size = ParseSize(text);
  if (!size.ok()) return Usage(size.status().message());
  // The rule create has always applied to the unit of dirty bitmaps and
  // region hashes.
  if (*size < kMinRegionSize || (*size & (*size - 1)) != 0) {
    return Usage("'" + text + "' is not a power of two of at least 4K");
  }
  return Status::Ok();
}

Result<double> ParseSeconds(const std::string& text) {
  char* end = nullptr;
  double seconds = text.empty() ? -1 : std::strtod(text.c_str(), &end);
  bool valid = end != nullptr && *end == '\0' && std::isfinite(seconds) && seconds >= 0 &&
               text.find_first_not_of("0123456789.") == std::string::npos;
  if (!valid) return Usage("'" + text + "' must be a number of seconds, e.g. 60");
  return seconds;
}

Result<long> ParseCount(const std::string& text) {
  char* end = nullptr;
  long count = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || count < 1) {
    return Usage("'" + text + "' is not a whole number, 1 or more");
  }
  return count;
}

}  // namespace rvg
