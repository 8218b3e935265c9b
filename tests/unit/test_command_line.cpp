// rvgadm's command line (cli/rvgadm/command_line.cpp) against a table
// shaped like rvgadm's own: what a good line yields, and the one-line
// message of each usage error (rvgadm prints it as "rvgadm: usage: ..."
// and exits 2; tests/integration/test_cli_errors.py checks the exit code).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/rvgadm/command_line.h"

namespace {

using rvg::CommandLine;
using rvg::CommandSpec;

const std::vector<CommandSpec>& Specs() {
  static const std::vector<CommandSpec> kSpecs = {
      {.name = "create",
       .required = {"RVG"},
       .value_options = {"--volume", "--srl", "--role", "--listen", "--region-size"},
       .repeatable = {"--volume"},
       .flag_options = {"--insecure"}},
      {.name = "addsec",
       .required = {"RVG", "SEC"},
       .rest = "KEY=VALUE",
       .value_options = {"--address", "--mode"},
       .flag_options = {"--insecure"}},
      {.name = "set", .required = {"RVG"}, .rest = "SEC KEY=VALUE", .min_rest = 1},
      {.name = "trust", .required = {"RVG"}, .rest = "[SEC] KEY", .flag_options = {"--insecure"}},
      {.name = "status", .required = {"RVG"}},
      {.name = "list", .optional = {"RVG"}},
      {.name = "drain", .required = {"RVG"}, .optional = {"SEC"}, .value_options = {"--timeout"}},
      {.name = "stats", .required = {"RVG"}, .value_options = {"--interval", "--count"}},
  };
  return kSpecs;
}

CommandLine Parse(const std::vector<std::string>& argv) {
  return rvg::ParseCommandLine(Specs(), argv);
}

// A good line: no error, the named command.
CommandLine Good(const std::vector<std::string>& argv, const std::string& command) {
  CommandLine line = Parse(argv);
  INFO(line.error);
  REQUIRE(line.error.empty());
  REQUIRE_FALSE(line.help);
  REQUIRE(line.command != nullptr);
  CHECK(line.command->name == command);
  return line;
}

std::string Error(const std::vector<std::string>& argv) {
  CommandLine line = Parse(argv);
  CHECK_FALSE(line.error.empty());
  return line.error;
}

}  // namespace

TEST_CASE("options go before, between or after the arguments, as --opt value or --opt=value") {
  CommandLine line = Good({"create", "--volume", "a=/x/a.img:1M", "r1", "--volume=b=/x/b.img:2M",
                           "--srl=/x/r1.srl:8M", "--insecure", "--role", "secondary"},
                          "create");
  CHECK(line.args.positional() == std::vector<std::string>{"r1"});
  CHECK(line.args.Values("--volume") == std::vector<std::string>{"a=/x/a.img:1M", "b=/x/b.img:2M"});
  CHECK(line.args.Value("--srl") == "/x/r1.srl:8M");
  CHECK(line.args.Value("--role") == "secondary");
  CHECK(line.args.Value("--listen", "none") == "none");
  CHECK(line.args.Has("--insecure"));
  CHECK_FALSE(line.args.Has("--listen"));
}

TEST_CASE("global options are read before and after the command") {
  CommandLine line = Good({"--home", "/h1", "status", "r1", "--json"}, "status");
  CHECK(line.home == "/h1");
  CHECK(line.json);
  line = Good({"--home", "/h0", "status", "--home=/h2", "r1"}, "status");
  CHECK(line.home == "/h2");
  CHECK_FALSE(line.json);
  CHECK(line.args.positional() == std::vector<std::string>{"r1"});
}

TEST_CASE("optional positionals and trailing arguments") {
  CHECK(Good({"list"}, "list").args.positional().empty());
  CHECK(Good({"list", "r1"}, "list").args.positional() == std::vector<std::string>{"r1"});
  CommandLine line = Good({"drain", "r1", "--timeout", "5", "s1"}, "drain");
  CHECK(line.args.positional() == std::vector<std::string>{"r1", "s1"});
  CHECK(line.args.Value("--timeout") == "5");
  line = Good({"addsec", "r1", "s1", "--address", "tcp://127.0.0.1:7001", "synchronous=override",
               "--mode", "sync", "ack_timeout=3"},
              "addsec");
  CHECK(line.args.positional() == std::vector<std::string>{"r1", "s1"});
  CHECK(line.args.rest() == std::vector<std::string>{"synchronous=override", "ack_timeout=3"});
  CHECK(Good({"addsec", "r1", "s1"}, "addsec").args.rest().empty());
  CHECK(Good({"set", "r1", "s1", "k=v"}, "set").args.rest() ==
        std::vector<std::string>{"s1", "k=v"});
}

TEST_CASE("-- ends the options: what follows is an argument") {
  CommandLine line = Good({"status", "--", "--json"}, "status");
  CHECK(line.args.positional() == std::vector<std::string>{"--json"});
  CHECK_FALSE(line.json);
  // Also where only optional or trailing arguments are left to fill.
  CHECK(Good({"list", "--", "--r1"}, "list").args.positional() == std::vector<std::string>{"--r1"});
  CHECK(Good({"drain", "r1", "--", "-s"}, "drain").args.positional() ==
        std::vector<std::string>{"r1", "-s"});
  CHECK(Good({"trust", "r1", "--", "-k", "--json"}, "trust").args.rest() ==
        std::vector<std::string>{"-k", "--json"});
  CHECK(Error({"status", "r1", "--", "r2"}) == "status: unexpected argument 'r2'");
  // A word that reads like a command is an argument after the command.
  CHECK(Good({"status", "list"}, "status").args.positional() == std::vector<std::string>{"list"});
}

TEST_CASE("a CURVE key that begins with dashes is an argument, not an option") {
  const std::string one_dash = "-" + std::string(39, 'a');
  const std::string two_dashes = "--" + std::string(38, 'b');
  CHECK(Good({"trust", "r1", one_dash}, "trust").args.rest() ==
        std::vector<std::string>{one_dash});
  CHECK(Good({"trust", "r1", "s1", two_dashes}, "trust").args.rest() ==
        std::vector<std::string>{"s1", two_dashes});
  // Z85 has '=': a key may hold one (a key test_primary_crash drew once).
  const std::string with_equals = "-B20A=WtdH}0?HBNO()al.y5>h)PO0>sK!lyO/l4";
  CHECK(Good({"trust", "r1", with_equals}, "trust").args.rest() ==
        std::vector<std::string>{with_equals});
  const std::string upper_equals = "--Q=" + std::string(36, 'c');
  CHECK(Good({"trust", "r1", upper_equals}, "trust").args.rest() ==
        std::vector<std::string>{upper_equals});
  // Spelled like an option with a value: read as one (and refused here).
  CHECK(Error({"trust", "r1", "--frob=" + std::string(33, 'd')}) ==
        "trust: unknown option --frob");
}

TEST_CASE("help: --help and -h anywhere, help and help COMMAND") {
  for (const auto& argv : std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}}) {
    CommandLine line = Parse(argv);
    CHECK(line.error.empty());
    CHECK(line.help);
    CHECK(line.command == nullptr);
  }
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"create", "--help"}, {"-h", "create"}, {"help", "create"},
           // Help wins over errors in the rest of the line.
           {"create", "--srl", "nonsense", "-h"}, {"create", "--help", "--frobnicate"}}) {
    CommandLine line = Parse(argv);
    INFO(argv.back());
    CHECK(line.error.empty());
    CHECK(line.help);
    REQUIRE(line.command != nullptr);
    CHECK(line.command->name == "create");
  }
  CHECK(Error({"help", "frobnicate"}) == "unknown command 'frobnicate'");
}

TEST_CASE("usage errors: one line that names the command and what is wrong") {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  const Case cases[] = {
      {{}, "no command given"},
      {{"--json"}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--frobnicate"}, "unknown option --frobnicate"},
      {{"--frobnicate", "status", "r1"}, "status: unknown option --frobnicate"},
      {{"status", "r1", "-" + std::string(39, 'a')},
       "status: unexpected argument '-" + std::string(39, 'a') + "'"},
      {{"create"}, "create: missing RVG"},
      // An unknown option before a missing argument: it may be the cause.
      {{"create", "-x"}, "create: unknown option -x"},
      {{"addsec"}, "addsec: missing RVG SEC"},
      {{"addsec", "r1"}, "addsec: missing SEC"},
      {{"set", "r1"}, "set: missing SEC KEY=VALUE"},
      {{"status", "r1", "r2"}, "status: unexpected argument 'r2'"},
      {{"status", "r1", "--frob=3"}, "status: unknown option --frob"},
      {{"trust", "r1", "--frobnicate"}, "trust: unknown option --frobnicate"},
      {{"create", "r1", "--volume"}, "create: --volume needs a value"},
      {{"create", "r1", "--srl", "/a:1M", "--srl", "/b:1M"}, "create: --srl given more than once"},
      {{"create", "r1", "--insecure=yes"}, "create: --insecure takes no value"},
      {{"status", "r1", "--home"}, "status: --home needs a value"},
      {{"status", "r1", "--home="}, "status: --home needs a value"},
      {{"create", "r1", "--srl", "/x/r1.srl:lots"},
       "create: --srl: '/x/r1.srl:lots': invalid size \"lots\": expected a number with an "
       "optional K, M, G or T suffix"},
      {{"create", "r1", "--volume", "no-equals-sign"},
       "create: --volume: 'no-equals-sign' must be NAME=PATH:SIZE, e.g. data=/srv/rvg/data.img:1G"},
      {{"create", "r1", "--volume", "v=/x/v.img:1000"},
       "create: --volume: 'v=/x/v.img:1000': the size must be a multiple of 512 bytes"},
      {{"create", "r1", "--role", "boss"}, "create: --role: 'boss' is not primary or secondary"},
      {{"create", "r1", "--region-size", "3K"},
       "create: --region-size: '3K' is not a power of two of at least 4K"},
      {{"create", "r1", "--listen", "bogus://nowhere"},
       "create: --listen: 'bogus://nowhere' is not an endpoint: use tcp://HOST:PORT (e.g. "
       "tcp://127.0.0.1:7001) or ipc://PATH"},
      {{"addsec", "r1", "s1", "--mode", "fast"}, "addsec: --mode: 'fast' is not async or sync"},
      {{"drain", "r1", "--timeout", "soon"},
       "drain: --timeout: 'soon' must be a number of seconds, e.g. 60"},
      {{"stats", "r1", "--count", "0"}, "stats: --count: '0' is not a whole number, 1 or more"},
  };
  for (const Case& c : cases) {
    CommandLine line = Parse(c.argv);
    INFO(c.message);
    CHECK(line.error == c.message);
    CHECK(line.error.find('\n') == std::string::npos);
    CHECK_FALSE(line.help);
  }
  // The error names the command it concerns, so its usage line can follow.
  CommandLine line = Parse({"create", "r1", "--volume"});
  REQUIRE(line.command != nullptr);
  CHECK(line.command->name == "create");
  CHECK(Parse({"frobnicate"}).command == nullptr);
}
