// rvgadm: the administrator's command line for rvg. main() reads argv
// against the table below (command_line.cpp) and runs the command.
#include <iostream>
#include <string>
#include <vector>

#include "cli/rvgadm/command.h"
#include "cli/rvgadm/output.h"

namespace rvg {
namespace {

// The dispatch table: every command, its arguments and options, and the
// function that runs it. --help is generated from it.
const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {{.name = "create",
        .synopsis = "RVG --volume NAME=PATH:SIZE [--volume ...] --srl PATH:SIZE "
                    "[--role primary|secondary] [--listen ENDPOINT] [--region-size SIZE] "
                    "[--durability flush|strict] [--host NAME] "
                    "[--primary-key KEY] [--rvg-uuid UUID] [--insecure]",
        .required = {"RVG"},
        .value_options = {"--volume", "--srl", "--role", "--listen", "--region-size",
                          "--durability", "--primary-key", "--rvg-uuid", "--host"},
        .repeatable = {"--volume"},
        .flag_options = {"--insecure"}},
       "create an RVG on this host (every RVG has an SRL; a secondary also takes --listen)",
       RunCreate},
      {{.name = "delete", .synopsis = "RVG", .required = {"RVG"}},
       "forget a stopped RVG (its images and SRL stay on disk)",
       RunDelete},
      {{.name = "addsec",
        .synopsis = "RVG SEC --address ENDPOINT --peer-key KEY|--insecure "
                    "[--mode async|sync] [KEY=VALUE ...]",
        .required = {"RVG", "SEC"},
        .rest = "KEY=VALUE",
        .value_options = {"--address", "--mode", "--peer-key"},
        .flag_options = {"--insecure"}},
       "add a secondary (an RLINK) to a primary RVG; on a secondary, another host of the RVG "
       "(accepted as primary, replicated to after a takeover)",
       RunAddsec},
      {{.name = "delsec", .synopsis = "RVG SEC", .required = {"RVG", "SEC"}},
       "remove a secondary from a primary RVG",
       RunDelsec},
      {{.name = "set",
        .synopsis = "RVG SEC KEY=VALUE ...   (or: set RVG durability=flush|strict)",
        .required = {"RVG"},
        .rest = "SEC KEY=VALUE",
        .min_rest = 1},
       "set replication attributes of an RLINK (applied at once if rvgd runs), or the RVG's durability",
       RunSet},
      {{.name = "pubkey", .synopsis = "[--json]"},
       "print this host's CURVE public key (made at first use), for its peers to pin",
       RunPubkey},
      {{.name = "trust",
        .synopsis = "RVG [SEC] KEY|--insecure",
        .required = {"RVG"},
        .rest = "[SEC] KEY",
        .flag_options = {"--insecure"}},
       "pin the peer's public key: the primary's on a secondary, SEC's on a primary",
       RunTrust},
      {{.name = "start",
        .synopsis = "RVG [--mount DIR] [--metrics ADDR:PORT] [--foreground]",
        .required = {"RVG"},
        .value_options = {"--mount", "--metrics"},
        .flag_options = {"--foreground"}},
       "start rvgd for an RVG; returns once it serves (a primary needs --mount; --metrics "
       "serves Prometheus metrics at http://ADDR:PORT/metrics)",
       RunStart},
      {{.name = "stop", .synopsis = "RVG", .required = {"RVG"}},
       "stop rvgd cleanly: unmount, sync, persist",
       RunStop},
      {{.name = "status", .synopsis = "RVG [--json]", .required = {"RVG"}},
       "show roles, seqs, volumes, SRL use, RLINKs and flags",
       RunStatus},
      {{.name = "list", .synopsis = "[RVG] [--json]", .optional = {"RVG"}},
       "list this host's RVGs and their roles, or with RVG the hosts it knows and their "
       "addresses",
       RunList},
      {{.name = "metrics", .synopsis = "RVG", .required = {"RVG"}},
       "print the status in Prometheus' text format (node_exporter's textfile collector)",
       RunMetrics},
      {{.name = "events",
        .synopsis = "RVG [--now] [--json]",
        .required = {"RVG"},
        .flag_options = {"--now"}},
       "print a line for every change of role, flags, RLINK state, protection, resync progress "
       "and errors as it happens (--now: the current state, then exit)",
       RunEvents},
      {{.name = "stats",
        .synopsis = "RVG [--interval S] [--count N] [--json]",
        .required = {"RVG"},
        .value_options = {"--interval", "--count"}},
       "rates, lag and mean net-ack latency per RLINK every interval (1 s), redrawn in place",
       RunStats},
      {{.name = "drain",
        .synopsis = "RVG [SEC] [--timeout SECONDS]",
        .required = {"RVG"},
        .optional = {"SEC"},
        .value_options = {"--timeout"}},
       "wait until secondaries have data-acked every write made so far",
       RunDrain},
      {{.name = "flags", .synopsis = "RVG [--json]", .required = {"RVG"}},
       "list the RVG's failover flags",
       RunFlags},
      {{.name = "pauserep", .synopsis = "RVG SEC", .required = {"RVG", "SEC"}},
       "pause replication to a secondary (writes go on; the SRL holds them for it)",
       RunPauserep},
      {{.name = "resumerep", .synopsis = "RVG SEC", .required = {"RVG", "SEC"}},
       "resume paused replication",
       RunResumerep},
      {{.name = "stoprep", .synopsis = "RVG SEC", .required = {"RVG", "SEC"}},
       "stop replication to a secondary (it goes stale: only startrep --full brings it back)",
       RunStoprep},
      {{.name = "startrep",
        .synopsis = "RVG SEC [--full | --checksum] [--wait]",
        .required = {"RVG", "SEC"},
        .flag_options = {"--full", "--checksum", "--wait"}},
       "start replication to a stale or stopped secondary: a full sync (--checksum: compare "
       "first); --wait follows it to the end with a progress bar",
       RunStartrep},
      {{.name = "verify",
        .synopsis = "RVG SEC [--wait]",
        .required = {"RVG", "SEC"},
        .flag_options = {"--wait"}},
       "compare region hashes with a secondary online; exit 1 when they differ",
       RunVerify},
      {{.name = "resync",
        .synopsis = "RVG SEC [--full] [--wait]",
        .required = {"RVG", "SEC"},
        .flag_options = {"--full", "--wait"}},
       "resynchronize a replicating secondary from its bitmap (--full: every region); "
       "--wait follows it to the end with a progress bar",
       RunResync},
      {{.name = "rollback", .synopsis = "RVG", .required = {"RVG"}},
       "on a stopped secondary, undo an unfinished resync: restore the consistent copy it had "
       "before",
       RunRollback},
      {{.name = "takeover",
        .synopsis = "RVG [--force] [--mount DIR]",
        .required = {"RVG"},
        .value_options = {"--mount"},
        .flag_options = {"--force"}},
       "make this secondary the primary when its primary is lost (--force: even if a resync "
       "left it inconsistent; its undo area is restored first when it has one)",
       RunTakeover},
      {{.name = "migrate",
        .synopsis = "RVG SEC [--mount DIR] [--timeout S]",
        .required = {"RVG", "SEC"},
        .value_options = {"--mount", "--timeout"}},
       "planned switch: this primary unmounts, drains SEC and hands the primary role over; it "
       "becomes SEC's secondary, no resync (--mount: where SEC mounts, default its recorded "
       "mountpoint)",
       RunMigrate},
      {{.name = "force-online", .synopsis = "RVG", .required = {"RVG"}},
       "serve writes on a primary held back as data_corrupt (it did not stop cleanly and no "
       "secondary has answered since) under a new generation",
       RunForceOnline},
      {{.name = "resolve",
        .synopsis = "RVG --discard-local",
        .required = {"RVG"},
        .flag_options = {"--discard-local"}},
       "end a split brain: this host becomes the secondary of the peer it diverged from, its "
       "writes since the split rolled back by a fast failback",
       RunResolve},
  };
  return kCommands;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& command : Commands()) {
    if (command.spec.name == name) return &command;
  }
  return nullptr;
}

void PrintHelp() {
  std::cout << "usage: rvgadm [--home DIR] [--json] COMMAND ...\n\ncommands:\n";
  for (const Command& command : Commands()) {
    std::cout << "  " << command.spec.name << " " << command.spec.synopsis << "\n      "
              << command.summary << "\n";
  }
  std::cout << "\n--home DIR (or RVG_HOME) is this host's state folder; default /var/lib/rvg\n"
               "as root, ${XDG_STATE_HOME:-~/.local/state}/rvg otherwise.\n"
               "Sizes take K/M/G/T suffixes. Endpoints: tcp://HOST:PORT or ipc://PATH.\n"
               "RLINK attributes: synchronous, sync_ack, ack_timeout, latencyprot,\n"
               "latency_high_mark, latency_low_mark, srlprot, bandwidth_limit, source_wait.\n"
               "Exit status: 0 success, 1 failure, 2 bad usage.\n";
}

int Main(const std::vector<std::string>& argv) {
  std::vector<CommandSpec> specs;
  for (const Command& command : Commands()) specs.push_back(command.spec);
  const CommandLine line = ParseCommandLine(specs, argv);
  const Command* command = line.command != nullptr ? FindCommand(line.command->name) : nullptr;
  if (!line.error.empty()) {
    return ReportUsage(command != nullptr ? &command->spec : nullptr, line.error);
  }
  if (line.help && command == nullptr) {
    PrintHelp();
    return kExitOk;
  }
  if (line.help) {
    std::cout << UsageLine(command->spec) << "\n  " << command->summary << "\n";
    return kExitOk;
  }
  Context context{Home::Resolve(line.home), line.json, &command->spec};
  return command->run(context, line.args);
}

}  // namespace
}  // namespace rvg

int main(int argc, char** argv) {
  return rvg::Main(std::vector<std::string>(argv + 1, argv + argc));
}
