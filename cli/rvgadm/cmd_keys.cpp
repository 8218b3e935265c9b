// rvgadm pubkey and trust: this host's CURVE identity and the peers it
// admits (DESIGN.md, Security).
//
// Pairing takes one exchange of public keys: each side's administrator runs
// `rvgadm pubkey` and pins the other side's key — on the primary per
// secondary (`addsec --peer-key`, or `trust RVG SEC KEY`), on the secondary
// for its RVG (`create --primary-key`, or `trust RVG KEY`). Secret keys
// never leave their home.
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/peer_options.h"
#include "cli/rvgadm/state_access.h"
#include "net/host_keys.h"

namespace rvg {

int RunPubkey(const Context& context, const ParsedArgs&) {
  Status status = context.home.Prepare();
  if (!status.ok()) return ReportError(status);
  Result<CurveKeyPair> keys = LoadOrCreateHostKeys(context.home.dir());
  if (!keys.ok()) return ReportError(keys.status());
  if (context.json) {
    PrintJson({{"public_key", keys->public_key}, {"home", context.home.dir()}});
  } else {
    PrintLine(keys->public_key);
  }
  return kExitOk;
}

// trust RVG KEY            on a secondary: the primary it accepts
// trust RVG SEC KEY        on a primary: the key secondary SEC must prove
// trust RVG [SEC] --insecure   opts the link out of CURVE (labs only)
int RunTrust(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  const std::vector<std::string>& rest = args.rest();
  const bool insecure = args.Has("--insecure");
  const size_t key_words = insecure ? 0 : 1;
  if (rest.size() < key_words || rest.size() > key_words + 1) {
    return ReportUsage(context.spec, insecure ? "trust: give only RVG [SEC] with --insecure"
                                              : "trust: give RVG KEY, or RVG SEC KEY on a primary");
  }
  std::string key = insecure ? "" : rest.back();
  if (!insecure) {
    Status checked = CheckPublicKey(key, "trust: KEY");
    if (!checked.ok()) return ReportUsage(context.spec, checked.message());
  }
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
  if (!db.ok()) return ReportError(db.status());
  Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
  if (!config.ok()) return ReportError(config.status());

  const bool names_sec = rest.size() > key_words;
  std::string what;
  Status status;
  if (config->role == "primary" || names_sec) {
    if (!names_sec) {
      return ReportUsage(context.spec, "trust: RVG " + rvg + " is a primary here: name the "
                                       "secondary whose key this is (trust RVG SEC KEY)");
    }
    const std::string& sec = rest[0];
    status = (*db)->SetRlinkPeer(rvg, sec, key, insecure);
    what = "RLINK " + sec + " of RVG " + rvg;
  } else {
    if (insecure && config->uuid.empty()) {
      return ReportError("an insecure secondary must be bound to its primary's RVG uuid, which "
                         "only create --rvg-uuid sets: delete and create RVG " + rvg +
                         " again with --insecure --rvg-uuid UUID");
    }
    status = (*db)->SetRvgPeer(rvg, key, insecure);
    what = "RVG " + rvg;
  }
  if (!status.ok()) return ReportError(status.Annotate("pinning the peer of " + what));
  PrintLine(insecure ? what + ": " + kInsecureWarning : what + ": trusts peer key " + key);
  NoteIfRunning(context.home, rvg);
  return kExitOk;
}

}  // namespace rvg
