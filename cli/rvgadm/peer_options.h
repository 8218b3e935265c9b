// The pairing options of create (secondary) and addsec (primary): which
// peer a link admits, or --insecure for a lab (DESIGN.md, Security).
//
//   create RVG --role secondary ... [--primary-key KEY] [--rvg-uuid UUID] [--insecure]
//   addsec RVG SEC ... [--peer-key KEY] [--insecure]
//
// A key and --insecure exclude each other. Without either, the RVG or
// RLINK is created unpaired and rvgd refuses to start it until an
// administrator pins the key with `rvgadm trust`. An insecure secondary
// must be bound to its primary explicitly by --rvg-uuid, since nothing
// else would tell its primary from any other peer.
#pragma once

#include <string>

#include "cli/rvgadm/command_line.h"
#include "core/status.h"

namespace rvg {

struct PeerChoice {
  std::string key;  // "" when none was given
  bool insecure = false;
};

// Reads `key_option` ("--primary-key", "--peer-key") and --insecure.
Result<PeerChoice> ParsePeerOptions(const ParsedArgs& args, const std::string& key_option);

// A uuid as rvg makes them: 36 characters, 8-4-4-4-12 lower-case hex.
Status CheckUuid(const std::string& option, const std::string& text);

// What `rvgadm status` says of an insecure link, on every line it appears.
inline constexpr const char* kInsecureWarning =
    "INSECURE: no authentication, no encryption (--insecure)";

}  // namespace rvg
