// rvgadm create and delete: an RVG's existence on this host.
//
// create checks every argument before touching anything, then creates the
// images, the SRL and the state.db rows, undoing its own files if a later
// step fails (images that existed before are never removed). Every RVG,
// primary or secondary, gets an SRL. delete forgets
// the RVG but leaves its images and SRL on disk: they hold data.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <set>

#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/peer_options.h"
#include "cli/rvgadm/state_access.h"
#include "core/size_parse.h"
#include "core/srl.h"
#include "core/uuid.h"
#include "core/volume_set.h"
#include "net/host_keys.h"

namespace rvg {

namespace {

Status Usage(const std::string& message) { return Status::Error(message, EINVAL); }


Status ParseVolumes(const ParsedArgs& args, RvgConfig* config) {
  std::vector<std::string> texts = args.Values("--volume");
  if (texts.empty()) return Usage("create: at least one --volume NAME=PATH:SIZE is needed");
  std::set<std::string> names;
  std::set<std::string> paths;
  for (size_t i = 0; i < texts.size(); ++i) {
    Result<VolumeSpec> spec = ParseVolumeArg(texts[i], static_cast<uint32_t>(i + 1));
    if (!spec.ok()) return spec.status().Annotate("create: --volume");
    if (!names.insert(spec->name).second) {
      return Usage("create: volume name '" + spec->name + "' is given twice");
    }
    if (!paths.insert(spec->path).second) {
      return Usage("create: image " + spec->path + " is given for two volumes");
    }
    config->volumes.push_back(*spec);
  }
  return Status::Ok();
}

// This host's name in the RVG: --host, else the machine's host name up to
// its first dot.
Status ParseHostName(const ParsedArgs& args, RvgConfig* config) {
  if (args.Has("--host")) {
    config->host = args.Value("--host");
  } else {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) return Status::FromErrno(errno, "gethostname");
    config->host = std::string(name).substr(0, std::string(name).find('.'));
  }
  Status status = CheckName("host", config->host);
  return status.ok() ? status : Usage("create: " + status.message());
}

Status ParseRoleAndPlacement(const ParsedArgs& args, RvgConfig* config) {
  Status named = ParseHostName(args, config);
  if (!named.ok()) return named;
  // --role and --listen are checked on the command line.
  config->role = args.Value("--role", "primary");
  config->listen = args.Value("--listen");
  if (config->role == "secondary" && config->listen.empty()) {
    return Usage("create: a secondary needs --listen ENDPOINT (e.g. tcp://0.0.0.0:7001)");
  }
  // Every RVG logs its writes in an SRL: the primary before it replicates
  // them, a secondary before it applies them (and once it takes over).
  if (!args.Has("--srl")) {
    return Usage("create: a " + config->role + " needs --srl PATH:SIZE (every RVG has an SRL)");
  }
  Result<PathAndSize> srl = ParsePathAndSize(args.Value("--srl"));
  if (!srl.ok()) return srl.status().Annotate("create: --srl");
  if (srl->size < Srl::kMinSize) {
    return Usage("create: the SRL must be at least " + FormatSize(Srl::kMinSize) + ", not " +
                 FormatSize(srl->size));
  }
  for (const VolumeSpec& volume : config->volumes) {
    if (volume.path == srl->path) {
      return Usage("create: the SRL " + srl->path + " is also the image of volume " + volume.name);
    }
  }
  config->srl_path = srl->path;
  config->srl_size = srl->size;
  return Status::Ok();
}

// A secondary's pairing: the primary's key and/or the primary RVG's uuid.
// Only a secondary takes them (a primary pins its peers per RLINK).
Status ParsePairing(const ParsedArgs& args, RvgConfig* config) {
  if (config->role == "primary") {
    for (const char* option : {"--primary-key", "--rvg-uuid", "--insecure"}) {
      if (args.Has(option)) {
        return Usage(std::string("create: ") + option + " is for a secondary; a primary pins " +
                     "each secondary's key with addsec --peer-key");
      }
    }
    return Status::Ok();
  }
  Result<PeerChoice> peer = ParsePeerOptions(args, "--primary-key");
  if (!peer.ok()) return Usage("create: " + peer.status().message());
  config->peer_key = peer->key;
  config->insecure = peer->insecure;
  if (args.Has("--rvg-uuid")) {
    Status status = CheckUuid("--rvg-uuid", args.Value("--rvg-uuid"));
    if (!status.ok()) return Usage("create: " + status.message());
    config->uuid = args.Value("--rvg-uuid");
  }
  if (config->insecure && config->uuid.empty()) {
    return Usage("create: an --insecure secondary needs --rvg-uuid UUID (the primary's uuid from "
                 "rvgadm status): without a key, only that binds it to its primary");
  }
  return Status::Ok();
}

Result<RvgConfig> ConfigFromArgs(const ParsedArgs& args) {
  RvgConfig config;
  config.name = args.positional()[0];
  Status status = CheckName("RVG", config.name);
  if (status.ok()) status = ParseVolumes(args, &config);
  if (status.ok()) status = ParseRoleAndPlacement(args, &config);
  if (status.ok()) status = ParsePairing(args, &config);
  if (!status.ok()) return status;

  // --durability and --region-size are checked on the command line.
  config.durability = args.Value("--durability", "flush");
  if (args.Has("--region-size")) {
    Result<uint64_t> region = ParseSize(args.Value("--region-size"));
    if (!region.ok()) return region.status().Annotate("create: --region-size");
    config.region_size = *region;
  }
  // A secondary takes its RVG identity from its pinned primary (or from
  // --rvg-uuid), so only a primary gets an identity now; every SRL gets one
  // of its own.
  config.srl_uuid = NewUuid();
  if (config.role == "primary") {
    config.uuid = NewUuid();
    config.generation = NewUuid();
  }
  return config;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The files this command creates, so a failure can remove exactly those.
class CreatedFiles {
 public:
  void NoteIfNew(const std::string& path) {
    if (!Exists(path)) pending_.push_back(path);
  }
  void RemoveAll() {
    for (const std::string& path : pending_) ::unlink(path.c_str());
  }

 private:
  std::vector<std::string> pending_;
};

Status CreateEverything(const Home& home, const RvgConfig& config) {
  Result<std::unique_ptr<StateDb>> db = OpenStateForCreate(home);
  if (!db.ok()) return db.status();
  // SQLite syncs the directory for its WAL but not for a new database
  // file, nor does anyone for a new home: make both entries durable before
  // the RVG's row relies on them.
  Status synced = FileEnv::Posix()->SyncDirOf(home.dir());
  if (synced.ok()) synced = FileEnv::Posix()->SyncDirOf(home.StateDbPath());
  if (!synced.ok()) return synced;
  Result<bool> exists = RvgExists(**db, config.name);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    return Status::Error("RVG " + config.name + " already exists in " + home.dir() +
                             "; pick another name or delete it first: rvgadm delete " +
                             config.name,
                         EEXIST);
  }

  CreatedFiles created;
  for (const VolumeSpec& volume : config.volumes) created.NoteIfNew(volume.path);
  created.NoteIfNew(config.srl_path);

  // Durable order: the images and the SRL, each synced with its directory,
  // then the one transaction that makes the RVG exist (its rows and first
  // generation together; state.db runs with synchronous=FULL). A crash at
  // any point leaves either no RVG (perhaps with files to remove) or a
  // complete one.
  Status status = VolumeSet::CreateImages(config.volumes);
  if (status.ok()) status = Srl::Create(config.srl_path, config.srl_size, config.srl_uuid);
  if (status.ok()) status = (*db)->CreateRvg(config);
  if (!status.ok()) created.RemoveAll();
  return status;
}

}  // namespace

int RunCreate(const Context& context, const ParsedArgs& args) {
  Result<RvgConfig> config = ConfigFromArgs(args);
  if (!config.ok()) return ReportUsage(context.spec, config.status().message());
  Status status = CreateEverything(context.home, *config);
  if (!status.ok()) return ReportError(status.Annotate("creating RVG " + config->name));

  size_t volumes = config->volumes.size();
  std::string summary = "RVG " + config->name + " created: " + config->role + ", " +
                        std::to_string(volumes) + (volumes == 1 ? " volume" : " volumes");
  summary += ", SRL " + FormatSize(config->srl_size);
  // The host's key pair is made now, so `pubkey` and the hints below can
  // show it before anything starts.
  Result<CurveKeyPair> keys = LoadOrCreateHostKeys(context.home.dir());
  if (!keys.ok()) return ReportError(keys.status().Annotate("RVG created, but"));
  if (config->role == "primary") {
    PrintLine(summary);
    PrintLine("next: rvgadm addsec " + config->name +
              " SEC --address ENDPOINT --peer-key KEY (the secondary's rvgadm pubkey), then "
              "rvgadm start " + config->name + " --mount DIR");
  } else {
    summary += ", listening on " + config->listen;
    if (config->insecure) summary += std::string(", ") + kInsecureWarning;
    PrintLine(summary);
    if (config->peer_key.empty() && !config->insecure) {
      PrintLine("next: rvgadm trust " + config->name +
                " KEY (the primary's rvgadm pubkey), then rvgadm start " + config->name);
    } else {
      PrintLine("next: rvgadm start " + config->name);
    }
  }
  if (!config->insecure) PrintLine("this host's public key (rvgadm pubkey): " + keys->public_key);
  return kExitOk;
}

int RunDelete(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
  if (!db.ok()) return ReportError(db.status());
  Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
  if (!config.ok()) return ReportError(config.status());
  Status status = RequireStopped(context.home, rvg);
  if (status.ok()) status = (*db)->DeleteRvg(rvg);
  if (!status.ok()) return ReportError(status.Annotate("deleting RVG " + rvg));

  PrintLine("RVG " + rvg + " deleted from " + context.home.dir());
  std::string kept;
  for (const VolumeSpec& volume : config->volumes) kept += " " + volume.path;
  if (!config->srl_path.empty()) kept += " " + config->srl_path;
  PrintLine("its files were left in place; remove them if no longer needed:" + kept);
  return kExitOk;
}

}  // namespace rvg
