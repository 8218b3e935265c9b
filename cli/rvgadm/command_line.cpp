#include "cli/rvgadm/command_line.h"

#include <CLI/CLI.hpp>

#include <algorithm>

#include "cli/rvgadm/arg_values.h"
#include "core/status.h"

namespace rvg {

namespace {

// CLI11's name for the positional that collects CommandSpec::rest (its
// display name, "KEY=VALUE", is no valid CLI11 name).
constexpr const char* kRestName = "REST";

// Words that are arguments whatever they look like go to CLI11 behind this
// mark, which no option name starts with, and come back without it:
// - a CURVE key (40 characters of Z85, whose alphabet has '-') may begin
//   with dashes: `trust RVG -<IL...` names a key, not an option. No option
//   name is 40 characters long;
// - the words after "--". CLI11 2.1.2 ends a command at "--" when the
//   command has no positional left to fill (its optional and trailing
//   arguments do not count), and reads what follows as global options.
constexpr char kArgumentMark = '\x1e';

// A 40-character Z85 word that starts with '-' and is not spelled like an
// option with a value, "--name=VALUE" (no option name is 38 characters, so
// a bare "--word" of 40 is a key). Z85 has '=' too, so '=' alone does not
// make an option: `-B20A=Wtd...` is a key. A key that happens to read
// "--lowercase=..." needs "--" before it; without, the parse fails with a
// usage error rather than misreading it.
bool LooksLikeKey(const std::string& word) {
  constexpr size_t kZ85KeyLength = 40;
  static const std::string kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (word.size() != kZ85KeyLength || word[0] != '-') return false;
  if (word.find_first_not_of(kZ85) != std::string::npos) return false;
  if (word.compare(0, 2, "--") != 0) return true;
  const size_t equals = word.find('=');
  if (equals == std::string::npos || equals == 2) return true;
  return !std::all_of(word.begin() + 2, word.begin() + static_cast<std::ptrdiff_t>(equals),
                      [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

std::string Unmarked(const std::string& word) {
  return !word.empty() && word[0] == kArgumentMark ? word.substr(1) : word;
}

std::vector<std::string> Unmarked(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const std::string& word : words) out.push_back(Unmarked(word));
  return out;
}

Status Usage(const std::string& message) { return Status::Error(message, EINVAL); }

Status OneOf(const std::string& text, const std::string& first, const std::string& second) {
  if (text == first || text == second) return Status::Ok();
  return Usage("'" + text + "' is not " + first + " or " + second);
}

// Checks of option values whose syntax is the same in every command that
// takes the option. Their messages follow "OPTION: " (CLI11 puts it
// before them); what the value means for the command is the command's
// business.
using ValueCheck = Status (*)(const std::string& text);
const std::map<std::string, ValueCheck>& ValueChecks() {
  static const std::map<std::string, ValueCheck> kChecks = {
      {"--volume", [](const std::string& text) { return ParseVolumeArg(text, 1).status(); }},
      {"--srl", [](const std::string& text) { return ParsePathAndSize(text).status(); }},
      {"--listen", CheckEndpointArg},
      {"--address", CheckEndpointArg},
      {"--region-size", CheckRegionSize},
      {"--timeout", [](const std::string& text) { return ParseSeconds(text).status(); }},
      {"--interval", [](const std::string& text) { return ParseSeconds(text).status(); }},
      {"--count", [](const std::string& text) { return ParseCount(text).status(); }},
      {"--role", [](const std::string& text) { return OneOf(text, "primary", "secondary"); }},
      {"--durability", [](const std::string& text) { return OneOf(text, "flush", "strict"); }},
      {"--mode", [](const std::string& text) { return OneOf(text, "async", "sync"); }},
  };
  return kChecks;
}

CLI::Validator CheckWith(ValueCheck check) {
  return CLI::Validator(
      [check](std::string& text) {
        Status status = check(Unmarked(text));
        return status.ok() ? std::string() : status.message();
      },
      "");
}

// The CLI11 subcommand for one command. Options are left unbound: their
// raw values are read back into ParsedArgs after the parse.
void AddCommand(CLI::App* app, const CommandSpec& spec) {
  CLI::App* command = app->add_subcommand(spec.name);
  for (const std::string& name : spec.required) command->add_option(name)->required();
  for (const std::string& name : spec.optional) command->add_option(name);
  if (!spec.rest.empty()) {
    // allow_extra_args: a positional takes more than its minimum only so.
    command->add_option(kRestName)
        ->expected(static_cast<int>(spec.min_rest), CLI::detail::expected_max_vector_size)
        ->allow_extra_args()
        ->required(spec.min_rest > 0);
  }
  for (const std::string& name : spec.value_options) {
    CLI::Option* option = command->add_option(name);
    bool repeatable = std::count(spec.repeatable.begin(), spec.repeatable.end(), name) > 0;
    // Given twice, a single-valued option is an error (ArgumentMismatch,
    // reported as "given more than once"), not a silent last-one-wins.
    option->multi_option_policy(repeatable ? CLI::MultiOptionPolicy::TakeAll
                                           : CLI::MultiOptionPolicy::Throw);
    auto check = ValueChecks().find(name);
    if (check != ValueChecks().end()) option->check(CheckWith(check->second));
  }
  // --insecure=yes is refused rather than read as a boolean.
  for (const std::string& name : spec.flag_options) {
    command->add_flag(name)->disable_flag_override();
  }
}

ParsedArgs ReadBack(const CommandSpec& spec, const CLI::App& command) {
  std::vector<std::string> positional;
  for (const auto* names : {&spec.required, &spec.optional}) {
    for (const std::string& name : *names) {
      const CLI::Option* option = command.get_option(name);
      if (option->count() > 0) positional.push_back(Unmarked(option->results().front()));
    }
  }
  std::vector<std::string> rest;
  if (!spec.rest.empty()) rest = Unmarked(command.get_option(kRestName)->results());
  std::map<std::string, std::vector<std::string>> values;
  for (const std::string& name : spec.value_options) {
    const CLI::Option* option = command.get_option(name);
    if (option->count() > 0) values[name] = Unmarked(option->results());
  }
  std::set<std::string> flags;
  for (const std::string& name : spec.flag_options) {
    if (command.get_option(name)->count() > 0) flags.insert(name);
  }
  return ParsedArgs(std::move(positional), std::move(rest), std::move(values), std::move(flags));
}

// argv as CLI11 is to read it: marked where needed, without the "--", and
// last word first (CLI11 takes words from the back).
std::vector<std::string> WordsForCli11(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  bool options_ended = false;
  for (const std::string& word : argv) {
    if (!options_ended && word == "--") {
      options_ended = true;
      continue;
    }
    words.push_back(options_ended || LooksLikeKey(word) ? kArgumentMark + word : word);
  }
  std::reverse(words.begin(), words.end());
  return words;
}

const CommandSpec* FindSpec(const std::vector<CommandSpec>& commands, const std::string& name) {
  for (const CommandSpec& spec : commands) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// The option of `app` (or of its parent: the global ones) that a CLI11
// message is about: such messages start with the option's name, "--srl:",
// or for a flag given a value, its bare name.
const CLI::Option* OptionNamedIn(const CLI::App* app, const std::string& message) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      if (option->get_positional()) continue;
      const std::string name = option->get_name();
      if (message.rfind(name + ":", 0) == 0) return option;
      if (option->get_expected_max() == 0 && message.rfind(name.substr(2) + " ", 0) == 0) {
        return option;
      }
    }
  }
  return nullptr;
}

// rvgadm's wording of a CLI11 error: one line that names the command and
// the option or argument at fault.
std::string UsageMessage(const CLI::ParseError& error, const CLI::App& app,
                         const CLI::App* command, const CommandSpec* spec) {
  const std::string prefix = command != nullptr ? command->get_name() + ": " : "";
  const std::string what = Unmarked(error.what());
  // A word not understood comes first: CLI11 reports it only after the
  // missing arguments and bad values, which may be its consequence.
  std::vector<std::string> extra = app.remaining(true);
  if (!extra.empty()) {
    const std::string word = Unmarked(extra.front());
    if (extra.front().rfind("-", 0) == 0 && word.size() > 1) {
      return prefix + "unknown option " + word.substr(0, word.find('='));
    }
    if (command == nullptr) return "unknown command '" + word + "'";
    return prefix + "unexpected argument '" + word + "'";
  }
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && command != nullptr) {
    std::string missing;
    for (const CLI::Option* option : command->get_options()) {
      if (option->get_positional() && option->get_required() &&
          static_cast<int>(option->count()) < option->get_items_expected_min()) {
        const std::string name = option->get_name(true);
        missing += (missing.empty() ? "" : " ") + (name == kRestName ? spec->rest : name);
      }
    }
    if (!missing.empty()) return prefix + "missing " + missing;
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    const CLI::Option* option = OptionNamedIn(command != nullptr ? command : &app, what);
    if (option != nullptr) {
      const std::string name = option->get_name();
      if (option->get_expected_max() == 0) return prefix + name + " takes no value";
      if (option->count() > 1) return prefix + name + " given more than once";
      return prefix + name + " needs a value";
    }
  }
  return prefix + what;
}

}  // namespace

bool ParsedArgs::Has(const std::string& option) const {
  return flags_.count(option) > 0 || values_.count(option) > 0;
}

std::string ParsedArgs::Value(const std::string& option, const std::string& fallback) const {
  auto it = values_.find(option);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::Values(const std::string& option) const {
  auto it = values_.find(option);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

CommandLine ParseCommandLine(const std::vector<CommandSpec>& commands,
                             const std::vector<std::string>& argv) {
  CommandLine line;
  CLI::App app("", "rvgadm");
  // rvgadm prints its own help (rvgadm_main.cpp), and -h must win over any
  // error in the words around it, so it is an ordinary flag that stops the
  // parse at once. Set before the subcommands, which inherit no help flag.
  app.set_help_flag();
  app.add_flag_callback("-h,--help", [] { throw CLI::CallForHelp(); })->trigger_on_parse();
  // The last --home wins, as it always has (a wrapper may add its own).
  app.add_option("--home", line.home)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(CLI::Validator(
          [](const std::string& dir) { return dir.empty() ? "needs a directory" : ""; }, ""));
  app.add_flag("--json", line.json);
  // Options the command does not know are looked up here: the global ones
  // may follow the command.
  app.fallthrough();
  // One command per line: the arguments after it are never read as a
  // second command (`rvgadm status list` asks about an RVG named list).
  app.require_subcommand(0, 1);
  for (const CommandSpec& spec : commands) AddCommand(&app, spec);
  CLI::App* help = app.add_subcommand("help");
  help->add_option("COMMAND");

  std::vector<std::string> words = WordsForCli11(argv);
  const CLI::App* command = nullptr;
  try {
    app.parse(words);
    std::vector<CLI::App*> parsed = app.get_subcommands();
    command = parsed.empty() ? nullptr : parsed.front();
  } catch (const CLI::CallForHelp&) {
    std::vector<CLI::App*> parsed = app.get_subcommands();
    line.help = true;
    if (!parsed.empty()) {
      line.command = FindSpec(commands, parsed.front()->get_name());
    } else {
      // `rvgadm --help create`: the parse stopped at --help, before the
      // command; `words` holds what it did not read, last first.
      auto next = std::find_if(words.rbegin(), words.rend(),
                               [](const std::string& word) { return word.rfind("-", 0) != 0; });
      if (next != words.rend()) line.command = FindSpec(commands, *next);
    }
    return line;
  } catch (const CLI::ParseError& error) {
    std::vector<CLI::App*> parsed = app.get_subcommands();
    command = parsed.empty() || parsed.front() == help ? nullptr : parsed.front();
    line.command = command != nullptr ? FindSpec(commands, command->get_name()) : nullptr;
    line.error = UsageMessage(error, app, command, line.command);
    return line;
  }

  if (command == help) {
    line.help = true;
    if (help->get_option("COMMAND")->count() == 0) return line;
    const std::string name = help->get_option("COMMAND")->results().front();
    line.command = FindSpec(commands, name);
    if (line.command == nullptr) line.error = "unknown command '" + name + "'";
    return line;
  }
  if (command == nullptr) {
    line.error = "no command given";
    return line;
  }
  line.command = FindSpec(commands, command->get_name());
  line.args = ReadBack(*line.command, *command);
  return line;
}

}  // namespace rvg
