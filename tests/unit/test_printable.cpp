// Printable text: what may reach a log line or a terminal from a peer.
#include <catch2/catch.hpp>
#include <string>

#include "core/printable.h"

TEST_CASE("Printable UTF-8 passes") {
  CHECK(rvg::IsPrintableUtf8(""));
  CHECK(rvg::IsPrintableUtf8("rvg data-1.vol"));
  CHECK(rvg::IsPrintableUtf8("3f0c1a52-8e0b-4f7a-9d7e-0c5e1b2a3c4d"));
  CHECK(rvg::IsPrintableUtf8("Zürich \xe2\x82\xac \xf0\x9f\x92\xbe"));  // ü, €, a floppy disk
}

TEST_CASE("Controls, escapes and invalid UTF-8 are refused and escaped for the log") {
  CHECK_FALSE(rvg::IsPrintableUtf8("two\nlines"));
  CHECK_FALSE(rvg::IsPrintableUtf8("tab\there"));
  CHECK_FALSE(rvg::IsPrintableUtf8("\x1b[2Jcleared"));  // terminal escape
  CHECK_FALSE(rvg::IsPrintableUtf8(std::string("nul\0inside", 10)));
  CHECK_FALSE(rvg::IsPrintableUtf8("del\x7f"));
  CHECK_FALSE(rvg::IsPrintableUtf8("\xc2\x9b" "c1 CSI"));  // U+009B
  CHECK_FALSE(rvg::IsPrintableUtf8("\xc3"));               // truncated
  CHECK_FALSE(rvg::IsPrintableUtf8("\xc0\xaf"));           // overlong '/'
  CHECK_FALSE(rvg::IsPrintableUtf8("\xed\xa0\x80"));       // surrogate
  CHECK_FALSE(rvg::IsPrintableUtf8("\xf4\x90\x80\x80"));   // > U+10FFFF
  CHECK_FALSE(rvg::IsPrintableUtf8("\xff"));
  CHECK(rvg::EscapeForLog("a\nb\x1b[0m\xff") == "a\\x0ab\\x1b[0m\\xff");
  CHECK(rvg::EscapeForLog("Zürich") == "Zürich");
}
