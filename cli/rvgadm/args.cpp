#include "cli/rvgadm/args.h"

#include <algorithm>

namespace rvg {

namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Every command option is spelled --name. A CURVE key (40 characters of
// Z85, whose alphabet has '-') may begin with dashes, so a 40-character
// word without '=' is an argument even when it does (`trust RVG -<IL...`
// would otherwise be "unknown option"); no option name is that long.
bool LooksLikeOption(const std::string& arg) {
  constexpr size_t kZ85KeyLength = 40;
  if (arg.rfind("--", 0) != 0) return false;
  return !(arg.size() == kZ85KeyLength && arg.find('=') == std::string::npos);
}

Status Usage(const std::string& message) { return Status::Error(message, EINVAL); }

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : " ") + name;
  return out;
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

Result<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::vector<std::string> plain;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || !LooksLikeOption(arg)) {
      plain.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_inline_value = true;
    }
    if (Contains(spec.flag_options, name)) {
      if (has_inline_value) return Usage(spec.name + ": " + name + " takes no value");
      parsed.flags_.insert(name);
      continue;
    }
    if (!Contains(spec.value_options, name)) {
      return Usage(spec.name + ": unknown option " + name);
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return Usage(spec.name + ": " + name + " needs a value");
      value = args[++i];
    }
    std::vector<std::string>& values = parsed.values_[name];
    if (!values.empty() && !Contains(spec.repeatable, name)) {
      return Usage(spec.name + ": " + name + " given more than once");
    }
    values.push_back(value);
  }

  const size_t named = spec.required.size() + spec.optional.size();
  if (plain.size() < spec.required.size()) {
    std::vector<std::string> missing(spec.required.begin() + plain.size(), spec.required.end());
    return Usage(spec.name + ": missing " + Join(missing));
  }
  if (spec.rest.empty() && plain.size() > named) {
    return Usage(spec.name + ": unexpected argument '" + plain[named] + "'");
  }
  if (!spec.rest.empty() && plain.size() < named + spec.min_rest) {
    // Optional positionals and a rest list never appear together, so the
    // rest starts right after the required positionals here.
    return Usage(spec.name + ": missing " + spec.rest);
  }
  const size_t positional_count = std::min(plain.size(), named);
  parsed.positional_.assign(plain.begin(), plain.begin() + positional_count);
  parsed.rest_.assign(plain.begin() + positional_count, plain.end());
  return parsed;
}

Result<GlobalOptions> ExtractGlobalOptions(const std::vector<std::string>& argv) {
  GlobalOptions options;
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_ended) {
      options.remaining.push_back(arg);
    } else if (arg == "--") {
      options_ended = true;
      options.remaining.push_back(arg);
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--home") {
      if (i + 1 >= argv.size()) return Usage("--home needs a directory");
      options.home = argv[++i];
    } else if (arg.rfind("--home=", 0) == 0) {
      options.home = arg.substr(7);
      if (options.home.empty()) return Usage("--home needs a directory");
    } else {
      options.remaining.push_back(arg);
    }
  }
  return options;
}

}  // namespace rvg
