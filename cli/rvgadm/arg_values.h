// Checks and conversions of the values an administrator types: names,
// paths, PATH:SIZE pairs, volume specs, endpoints, KEY=VALUE pairs and
// durations. Every error is a usage error (code EINVAL) whose message
// quotes the input; those that check an option's value leave the option's
// name out, since the command line (command_line.cpp) puts it before them:
// "--srl: '/x:lots': invalid size ...".
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/status.h"
#include "core/volume.h"

namespace rvg {

// RVG, volume and RLINK names: 1..64 of [A-Za-z0-9_.-], not starting with
// '.' or '-'. They become file names (sockets, logs, FUSE entries) and
// command arguments, hence the narrow alphabet.
Status CheckName(const std::string& kind, const std::string& name);

// `path` made absolute against the working directory and normalized.
std::string AbsolutePath(const std::string& path);

struct PathAndSize {
  std::string path;  // absolute
  uint64_t size = 0;
};
// "PATH:SIZE", split at the last ':' so paths may contain ':'.
Result<PathAndSize> ParsePathAndSize(const std::string& text);

// "NAME=PATH:SIZE" for --volume; `id` is the volume's id.
Result<VolumeSpec> ParseVolumeArg(const std::string& text, uint32_t id);

// tcp://HOST:PORT (PORT 1..65535) or ipc://PATH.
Status CheckEndpointArg(const std::string& text);

// A region size: a power of two of at least 4K ("64K", "1M").
Status CheckRegionSize(const std::string& text);

// "KEY=VALUE" with a non-empty key.
Result<std::pair<std::string, std::string>> SplitKeyValue(const std::string& text);

// A non-negative decimal number of seconds ("60", "2.5").
Result<double> ParseSeconds(const std::string& text);

// A whole number of times, 1 or more ("10").
Result<long> ParseCount(const std::string& text);

}  // namespace rvg
