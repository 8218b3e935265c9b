// Shared pieces of the libFuzzer targets in tests/fuzz (see
// packaging/fuzz.sh for how they are built and run).
//
// Each target checks an oracle, not only "did not crash": a violated
// property is reported with FUZZ_CHECK, which aborts, so that libFuzzer
// saves the input as a crash like any sanitizer finding.
//
// Each target also writes its own seed corpus when run as
//   fuzz_X --write-seeds=DIR
// (libFuzzer leaves flags that start with "--" to the target), so the
// committed seeds in tests/fuzz/corpus/ can be regenerated from code.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rvg::fuzz {

[[noreturn]] inline void OracleFailed(const char* file, int line, const char* expr,
                                      const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz oracle violated: %s\n  %s\n", file, line, expr,
               detail.c_str());
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                                              \
  do {                                                                        \
    if (!(cond)) ::rvg::fuzz::OracleFailed(__FILE__, __LINE__, #cond, detail); \
  } while (0)

// An error a hostile input may provoke must still be a usable message: not
// empty, and one line (the daemons log it and rvgadm prints it).
inline void CheckErrorMessage(const Status& st) {
  FUZZ_CHECK(!st.ok(), "expected an error");
  FUZZ_CHECK(!st.message().empty(), "error without a message");
  FUZZ_CHECK(st.message().find_first_of("\r\n") == std::string::npos,
             "error message spans lines: " + st.message());
}

inline std::vector<uint8_t> Bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

using Seed = std::pair<std::string, std::vector<uint8_t>>;  // file name, contents

// Handles --write-seeds=DIR: writes `make_seeds()` there and exits. Called
// from LLVMFuzzerInitialize; returns when the flag is absent.
template <typename MakeSeeds>
void MaybeWriteSeeds(int* argc, char*** argv, MakeSeeds make_seeds) {
  constexpr std::string_view kFlag = "--write-seeds=";
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = (*argv)[i];
    if (arg.substr(0, kFlag.size()) != kFlag) continue;
    const std::string dir(arg.substr(kFlag.size()));
    for (const Seed& seed : make_seeds()) {
      std::ofstream out(dir + "/" + seed.first, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(seed.second.data()),
                static_cast<std::streamsize>(seed.second.size()));
      if (!out) {
        std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), seed.first.c_str());
        std::exit(1);
      }
    }
    std::exit(0);
  }
}

}  // namespace rvg::fuzz
