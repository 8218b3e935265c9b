// core/text.h: what counts as printable, and how the rest is shown.
#include "core/text.h"

#include <catch2/catch.hpp>

#include <string>

using rvg::IsPrintableUtf8;
using rvg::Printable;

TEST_CASE("printable UTF-8 is valid UTF-8 without control characters", "[text]") {
  CHECK(IsPrintableUtf8(""));
  CHECK(IsPrintableUtf8("datavg-01 ~!@#$%^&*()"));
  CHECK(IsPrintableUtf8("zürich \u00a0 \u20ac \U0001F600 \U0010FFFF"));

  CHECK_FALSE(IsPrintableUtf8("a\nb"));
  CHECK_FALSE(IsPrintableUtf8("a\rb"));
  CHECK_FALSE(IsPrintableUtf8("\x1b[31mred"));
  CHECK_FALSE(IsPrintableUtf8(std::string("a\0b", 3)));
  CHECK_FALSE(IsPrintableUtf8("\x7f"));
  CHECK_FALSE(IsPrintableUtf8("\xc2\x85"));          // NEL, a C1 control
  CHECK_FALSE(IsPrintableUtf8("\xc2\x9b" "31m"));    // CSI, a C1 control
  CHECK_FALSE(IsPrintableUtf8("\xff"));
  CHECK_FALSE(IsPrintableUtf8("\xc3"));              // truncated
  CHECK_FALSE(IsPrintableUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsPrintableUtf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(IsPrintableUtf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(IsPrintableUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsPrintableUtf8("\xe2\x82"));          // truncated
}

TEST_CASE("Printable escapes what is not printable and keeps the rest", "[text]") {
  CHECK(Printable("plain") == "plain");
  CHECK(Printable("zürich") == "zürich");
  CHECK(Printable("a\nb") == "a\\x0ab");
  CHECK(Printable("back\\slash") == "back\\\\slash");
  CHECK(Printable("\xff\xc3") == "\\xff\\xc3");
  CHECK(IsPrintableUtf8(Printable(std::string("\0\x1b\x7f\xc2\x85\xed\xa0\x80", 8))));
}
