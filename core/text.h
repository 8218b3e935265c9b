// Text that came from outside (a peer's message, a row of state.db, an
// administrator's argument) on its way into a log line or onto a terminal.
//
// "Printable" means valid UTF-8 (no overlong forms, no surrogates, nothing
// above U+10FFFF) without control characters: no C0 controls (newline,
// escape, ...), no DEL and no C1 controls. Such text cannot forge log lines
// or drive a terminal.
#pragma once

#include <string>
#include <string_view>

namespace rvg {

bool IsPrintableUtf8(std::string_view text);

// `text` with every byte that is not part of a printable character written
// as \xNN (and a backslash as \\), so that a message can quote a bad value
// and still be one printable line.
std::string Printable(std::string_view text);

}  // namespace rvg
