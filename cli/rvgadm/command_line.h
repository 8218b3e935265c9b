// rvgadm's command line, read by CLI11: the shape of each command (its
// arguments and options) and what a parse of argv yields. CLI11 does the
// splitting (options before or after arguments, --opt=value and --opt
// value, "--" ending options, global options on either side of the
// command); this module turns its errors into rvgadm's usage messages.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace rvg {

// What a command accepts. Options are spelled with their dashes
// ("--volume") and take their value as the next argument or after "=".
struct CommandSpec {
  std::string name = {};                       // "create"
  std::string synopsis = {};                   // arguments part of the usage line
  std::vector<std::string> required = {};      // positional names, e.g. {"RVG", "SEC"}
  std::vector<std::string> optional = {};      // positional names that may follow
  std::string rest = {};                       // name of trailing args ("KEY=VALUE"), "" if none
  size_t min_rest = 0;
  std::vector<std::string> value_options = {};  // options that take a value
  std::vector<std::string> repeatable = {};    // value options that may be given more than once
  std::vector<std::string> flag_options = {};  // options without a value
};

class ParsedArgs {
 public:
  ParsedArgs() = default;
  ParsedArgs(std::vector<std::string> positional, std::vector<std::string> rest,
             std::map<std::string, std::vector<std::string>> values, std::set<std::string> flags)
      : positional_(std::move(positional)),
        rest_(std::move(rest)),
        values_(std::move(values)),
        flags_(std::move(flags)) {}

  // Required positionals first, then the optional ones that were given.
  const std::vector<std::string>& positional() const { return positional_; }
  // Arguments after the named positionals (only when spec.rest is set).
  const std::vector<std::string>& rest() const { return rest_; }
  bool Has(const std::string& option) const;  // flag given, or value option given
  // Last value of a value option, or `fallback` when absent.
  std::string Value(const std::string& option, const std::string& fallback = "") const;
  // Every value of a repeatable option, in the order given.
  std::vector<std::string> Values(const std::string& option) const;

 private:
  std::vector<std::string> positional_;
  std::vector<std::string> rest_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_;
};

// The outcome of reading argv. Exactly one of: a usage error (`error` is
// set; `command` is the command it concerns, if known), a request for help
// (`help`; `command` is null for the list of commands), or a command to
// run with its arguments.
struct CommandLine {
  std::string error;
  bool help = false;
  const CommandSpec* command = nullptr;
  ParsedArgs args;
  // Global options, accepted before or after the command.
  std::string home;
  bool json = false;
};

// Reads argv (without the program name) against `commands`. "help" and
// "help COMMAND" are requests for help, as are -h and --help anywhere
// before "--". Option values are checked here when their syntax does not
// depend on the command (sizes, endpoints, seconds, roles...), so such an
// error names the option ("--srl: '...' ...") and nothing has run yet.
CommandLine ParseCommandLine(const std::vector<CommandSpec>& commands,
                             const std::vector<std::string>& argv);

}  // namespace rvg
