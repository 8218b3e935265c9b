// rvgadm addsec, delsec and set: RLINKs and their attributes, edited in
// state.db. Adding or removing an RLINK changes what a running rvgd works
// with, so both refuse while it runs; `set` saves the attributes and has a
// running rvgd apply them at once.
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/peer_options.h"
#include "cli/rvgadm/primary_history.h"
#include "cli/rvgadm/rlink_attributes.h"
#include "cli/rvgadm/state_access.h"

namespace rvg {

namespace {

std::string Describe(const AttributeList& attributes) {
  std::string out;
  for (const auto& [key, value] : attributes) out += (out.empty() ? "" : ", ") + key + "=" + value;
  return out;
}

// Opens state.db and checks that `rvg` exists and is a primary here (or,
// with `either_role`, exists: on a secondary its RLINKs are the other hosts
// of the RVG, doc/failover.md).
Result<std::unique_ptr<StateDb>> OpenPrimary(const Home& home, const std::string& rvg,
                                             bool either_role = false,
                                             RvgConfig* loaded = nullptr) {
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(home, rvg);
  if (!db.ok()) return db;
  Result<RvgConfig> config = LoadRvg(**db, home, rvg);
  if (!config.ok()) return config.status();
  if (loaded != nullptr) *loaded = *config;
  if (config->role != "primary" && !either_role) {
    return Status::Error("RVG " + rvg + " is a " + config->role +
                         " on this host; RLINKs are configured on its primary");
  }
  return db;
}

Status ApplyAttributes(StateDb& db, const std::string& rvg, const std::string& sec,
                       const AttributeList& attributes) {
  for (const auto& [key, value] : attributes) {
    Status status = db.SetRlinkAttribute(rvg, sec, key, value);
    if (!status.ok()) return status.Annotate("setting " + key + "=" + value);
  }
  return Status::Ok();
}

Status AddRlinkWithAttributes(StateDb& db, const RlinkConfig& rlink,
                              const AttributeList& attributes) {
  Result<std::vector<RlinkConfig>> existing = db.ListRlinks(rlink.rvg);
  if (!existing.ok()) return existing.status();
  for (const RlinkConfig& other : *existing) {
    if (other.name == rlink.name) {
      return Status::Error("RVG " + rlink.rvg + " already has an RLINK named " + rlink.name +
                               "; change it with rvgadm set, or delete it first: rvgadm delsec " +
                               rlink.rvg + " " + rlink.name,
                           EEXIST);
    }
  }
  Status status = db.AddRlink(rlink);
  if (!status.ok()) return status;
  status = ApplyAttributes(db, rlink.rvg, rlink.name, attributes);
  if (!status.ok()) db.DeleteRlink(rlink.rvg, rlink.name);
  return status;
}

// `set RVG KEY=VALUE`: the RVG's own attributes (durability only, so far).
int SetRvgAttribute(const Context& context, const std::string& rvg, const ParsedArgs& args) {
  if (args.rest().size() != 1) {
    return ReportUsage(context.spec, "set: an RVG attribute is set alone: set RVG durability=flush|strict");
  }
  Result<std::pair<std::string, std::string>> pair = SplitKeyValue(args.rest()[0]);
  if (!pair.ok()) return ReportUsage(context.spec, pair.status().message());
  const auto& [key, value] = *pair;
  if (key != "durability") {
    return ReportUsage(context.spec, "set: unknown RVG attribute '" + key +
                                         "' (RLINK attributes need the SEC: set RVG SEC " + key +
                                         "=...)");
  }
  if (value != "flush" && value != "strict") {
    return ReportUsage(context.spec, "set: durability must be flush or strict, not '" + value + "'");
  }
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
  if (!db.ok()) return ReportError(db.status());
  Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
  if (!config.ok()) return ReportError(config.status());
  Status status = (*db)->SetDurability(rvg, value);
  if (!status.ok()) return ReportError(status.Annotate("setting durability of RVG " + rvg));
  PrintLine("RVG " + rvg + ": durability=" + value);
  return kExitOk;
}

}  // namespace

int RunAddsec(const Context& context, const ParsedArgs& args) {
  RlinkConfig rlink;
  rlink.rvg = args.positional()[0];
  rlink.name = args.positional()[1];
  rlink.address = args.Value("--address");
  Status status = CheckName("RVG", rlink.rvg);
  if (status.ok()) status = CheckName("secondary", rlink.name);
  if (status.ok() && rlink.address.empty()) {
    status = Status::Error("addsec: --address ENDPOINT is needed (e.g. tcp://10.0.0.2:7001)");
  }
  // --address and --mode are checked on the command line.
  rlink.synchronous = args.Value("--mode") == "sync" ? "override" : "off";
  Result<PeerChoice> peer = ParsePeerOptions(args, "--peer-key");
  if (status.ok() && !peer.ok()) status = Status::Error("addsec: " + peer.status().message());
  if (status.ok()) {
    rlink.peer_key = peer->key;
    rlink.insecure = peer->insecure;
  }
  Result<AttributeList> attributes = PrepareRlinkAttributes(rlink, args.rest());
  if (status.ok() && !attributes.ok()) status = attributes.status();
  if (!status.ok()) return ReportUsage(context.spec, status.message());

  RvgConfig config;
  Result<std::unique_ptr<StateDb>> db = OpenPrimary(context.home, rlink.rvg, true, &config);
  if (!db.ok()) return ReportError(db.status());
  status = RequireStopped(context.home, rlink.rvg);
  std::string full_sync_reason;
  const bool on_secondary = config.role == "secondary";
  if (status.ok() && !on_secondary) {
    Result<RvgConfig> config = LoadRvg(**db, context.home, rlink.rvg);
    Result<std::string> reason =
        config.ok() ? NewRlinkNeedsFullSync(*config) : Result<std::string>(config.status());
    status = reason.status();
    if (reason.ok()) full_sync_reason = *reason;
  }
  // Stale from the start: it cannot catch up from the SRL (primary_history.h).
  if (!full_sync_reason.empty()) rlink.state = "stale";
  if (status.ok()) status = AddRlinkWithAttributes(**db, rlink, *attributes);
  if (!status.ok()) {
    return ReportError(status.Annotate("adding secondary " + rlink.name + " to RVG " + rlink.rvg));
  }
  std::string line = "RLINK " + rlink.name + " added to RVG " + rlink.rvg + ": " + rlink.address +
                     ", synchronous=" + rlink.synchronous;
  if (on_secondary) {
    line = "host " + rlink.name + " added to secondary RVG " + rlink.rvg + " (" + rlink.address +
           "): this host accepts it as primary and replicates to it after a takeover";
  }
  if (!attributes->empty()) line += ", " + Describe(*attributes);
  if (rlink.insecure) line += std::string(", ") + kInsecureWarning;
  PrintLine(line);
  if (rlink.peer_key.empty() && !rlink.insecure) {
    PrintLine("next: rvgadm trust " + rlink.rvg + " " + rlink.name + " KEY (" + rlink.name +
              "'s rvgadm pubkey); " +
              (on_secondary ? "this host neither accepts it nor takes over before"
                            : "rvgd will not start this RVG before"));
  }
  if (!full_sync_reason.empty()) {
    PrintLine("RLINK " + rlink.name + " needs a full sync (" + full_sync_reason +
              "): it is stale until rvgadm startrep " + rlink.rvg + " " + rlink.name +
              " --full [--wait], with rvgd running");
  }
  return kExitOk;
}

int RunDelsec(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  const std::string& sec = args.positional()[1];
  Result<std::unique_ptr<StateDb>> db = OpenPrimary(context.home, rvg, true);
  if (!db.ok()) return ReportError(db.status());
  Status status = RequireStopped(context.home, rvg);
  if (status.ok()) status = (*db)->GetRlink(rvg, sec).status();
  if (status.ok()) status = (*db)->DeleteRlink(rvg, sec);
  if (!status.ok()) {
    return ReportError(status.Annotate("deleting secondary " + sec + " from RVG " + rvg));
  }
  PrintLine("RLINK " + sec + " deleted from RVG " + rvg);
  return kExitOk;
}

int RunSet(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  const std::string& first = args.rest()[0];
  if (first.find('=') != std::string::npos) return SetRvgAttribute(context, rvg, args);
  std::vector<std::string> key_values(args.rest().begin() + 1, args.rest().end());
  if (key_values.empty()) return ReportUsage(context.spec, "set: missing KEY=VALUE");

  Result<std::unique_ptr<StateDb>> db = OpenPrimary(context.home, rvg);
  if (!db.ok()) return ReportError(db.status());
  Result<RlinkConfig> current = (*db)->GetRlink(rvg, first);
  if (!current.ok()) return ReportError(current.status());
  Result<AttributeList> attributes = PrepareRlinkAttributes(*current, key_values);
  if (!attributes.ok()) return ReportUsage(context.spec, attributes.status().message());
  Status status = ApplyAttributes(**db, rvg, first, *attributes);
  if (!status.ok()) return ReportError(status.Annotate("RLINK " + first + " of RVG " + rvg));
  // state.db is the record; a running rvgd reads the RLINK back from it.
  Result<DaemonState> daemon = ProbeDaemon(context.home, rvg);
  if (daemon.ok() && daemon->running) {
    status = RlinkRequest(context.home, rvg, first, "reload");
    if (!status.ok()) {
      return ReportError(status.Annotate("saved in state.db, but the running rvgd did not take "
                                         "it (it will at its next start)"));
    }
  }
  PrintLine("RLINK " + first + " of RVG " + rvg + ": " + Describe(*attributes) +
            (daemon.ok() && daemon->running ? " (in effect now)" : ""));
  return kExitOk;
}

}  // namespace rvg
