// BufferPool: freed write buffers are handed out again, and the pool keeps
// no more than its bound.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "core/buffer_pool.h"
#include "core/record.h"

namespace bp = rvg::buffer_pool;

TEST_CASE("A freed buffer's storage serves the next buffer of its size class") {
  const uint8_t* first = nullptr;
  {
    rvg::DataBuffer a(128 << 10);
    first = a.data();
  }
  rvg::DataBuffer b((128 << 10) - 512);  // same power-of-two class
  CHECK(b.data() == first);
  CHECK(b.size() == (128u << 10) - 512);
}

TEST_CASE("Sizes outside the pooled range are not kept") {
  const size_t idle = bp::IdleBytes();
  { rvg::DataBuffer small(100); }
  { rvg::DataBuffer huge(bp::kMaxPooled + 1); }
  CHECK(bp::IdleBytes() == idle);
}

TEST_CASE("The pool keeps at most kMaxIdleBytes of free buffers") {
  std::vector<std::unique_ptr<rvg::DataBuffer>> held;
  for (size_t i = 0; i < 2 * bp::kMaxIdleBytes / bp::kMaxPooled; ++i) {
    held.push_back(std::make_unique<rvg::DataBuffer>(bp::kMaxPooled));
  }
  held.clear();
  CHECK(bp::IdleBytes() <= bp::kMaxIdleBytes);
  CHECK(bp::IdleBytes() >= bp::kMaxIdleBytes - bp::kMaxPooled);
}
