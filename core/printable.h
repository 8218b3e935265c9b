// Printable text: the check every string from the network or a user passes
// before it reaches a log line or a terminal, so that a peer cannot forge
// log lines (newlines), drive a terminal (escape sequences) or smuggle
// invalid UTF-8 into JSON output.
#pragma once

#include <string>
#include <string_view>

namespace rvg {

// True when `text` is valid UTF-8 (shortest forms, no surrogates, at most
// U+10FFFF) without control characters: no C0 controls (tab and newline
// included), no DEL, no C1 controls (U+0080..U+009F).
bool IsPrintableUtf8(std::string_view text);

// `text` with every byte that is not part of a printable character shown
// as \xNN, for logging what was refused.
std::string EscapeForLog(std::string_view text);

}  // namespace rvg
