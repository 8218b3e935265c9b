// HostKeys: this host's long-term CURVE key pair, the identity its RLINKs
// authenticate with (DESIGN.md, Security).
//
// The pair lives in the home: HOME/curve.key holds the secret key and
// HOME/curve.pub the public key, each one line of Z85 text (40 characters,
// the form ZeroMQ's CURVE options and `rvgadm pubkey` use). The pair is
// made at first use. The secret key file must be a regular file owned by
// this user with no permission for group or others (0600 or stricter);
// anything else is refused rather than used, because a secret key that
// others could read authenticates them as this host.
//
// Peer keys that administrators pin (`--peer-key`, `--primary-key`,
// `rvgadm trust`) are checked with CheckPublicKey before they are stored.
#pragma once

#include <string>

#include "core/status.h"

namespace rvg {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// Loads the pair from `home_dir`, creating it first when neither file
// exists. A half-made pair (one file without the other), a damaged file or
// a secret key file others may read is an error saying what to do.
Result<CurveKeyPair> LoadOrCreateHostKeys(const std::string& home_dir);

// OK when `key` is a CURVE public key in Z85 (40 characters of the Z85
// alphabet that decode to 32 bytes); otherwise a one-line error naming
// `what` ("--peer-key").
Status CheckPublicKey(const std::string& key, const std::string& what);

}  // namespace rvg
