// Command-line parsing for rvgadm: the shape of each command (its
// arguments and options) and the split of argv into positional arguments,
// option values and flags. Usage errors come back as a Status whose message
// says what is wrong; the caller prints it as a usage error (exit 2).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

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
  friend Result<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                      const std::vector<std::string>& args);
  std::vector<std::string> positional_;
  std::vector<std::string> rest_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_;
};

// Parses the arguments after the command name (global options already
// removed). "--" ends option parsing.
Result<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// Global options, accepted before or after the command: --home DIR,
// --home=DIR, --json, and --help/-h.
struct GlobalOptions {
  std::string home;
  bool json = false;
  bool help = false;
  std::vector<std::string> remaining;  // command and its arguments
};
Result<GlobalOptions> ExtractGlobalOptions(const std::vector<std::string>& argv);

}  // namespace rvg
