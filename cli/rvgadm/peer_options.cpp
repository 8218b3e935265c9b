#include "cli/rvgadm/peer_options.h"

#include <cctype>

#include "net/host_keys.h"

namespace rvg {

Result<PeerChoice> ParsePeerOptions(const ParsedArgs& args, const std::string& key_option) {
  PeerChoice choice;
  choice.insecure = args.Has("--insecure");
  if (args.Has(key_option)) {
    choice.key = args.Value(key_option);
    if (choice.insecure) {
      return Status::Error(key_option + " and --insecure exclude each other: a pinned key is "
                                        "what makes the link secure",
                           EINVAL);
    }
    Status status = CheckPublicKey(choice.key, key_option);
    if (!status.ok()) return status;
  }
  return choice;
}

Status CheckUuid(const std::string& option, const std::string& text) {
  bool valid = text.size() == 36;
  for (size_t i = 0; valid && i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    valid = dash ? text[i] == '-'
                 : std::isxdigit(static_cast<unsigned char>(text[i])) && !std::isupper(text[i]);
  }
  if (valid) return Status::Ok();
  return Status::Error(option + " must be the primary RVG's uuid as `rvgadm status` shows it "
                                "(8-4-4-4-12 lower-case hex digits), not '" +
                           text.substr(0, 60) + "'",
                       EINVAL);
}

}  // namespace rvg
