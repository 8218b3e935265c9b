#include "core/buffer_pool.h"

#include <bit>
#include <mutex>
#include <vector>

namespace rvg::buffer_pool {
namespace {

constexpr int kMinShift = std::countr_zero(kMinPooled);
constexpr int kClasses = std::countr_zero(kMaxPooled) - kMinShift + 1;

struct Pool {
  std::mutex mu;
  std::vector<uint8_t*> free[kClasses];
  size_t idle_bytes = 0;
};

// Never destroyed: buffers may be given back by static destructors of
// other translation units after this one's would have run.
Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

bool Pooled(size_t capacity) { return capacity >= kMinPooled && capacity <= kMaxPooled; }

int ClassOf(size_t capacity) { return std::countr_zero(capacity) - kMinShift; }

}  // namespace

uint8_t* Take(size_t size, size_t* capacity) {
  if (size < kMinPooled || size > kMaxPooled) {
    *capacity = size;
    return new uint8_t[size == 0 ? 1 : size];
  }
  *capacity = std::bit_ceil(size);
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    std::vector<uint8_t*>& list = pool.free[ClassOf(*capacity)];
    if (!list.empty()) {
      uint8_t* bytes = list.back();
      list.pop_back();
      pool.idle_bytes -= *capacity;
      return bytes;
    }
  }
  return new uint8_t[*capacity];
}

void Give(uint8_t* bytes, size_t capacity) {
  if (bytes == nullptr) return;
  if (Pooled(capacity) && std::has_single_bit(capacity)) {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.idle_bytes + capacity <= kMaxIdleBytes) {
      pool.free[ClassOf(capacity)].push_back(bytes);
      pool.idle_bytes += capacity;
      return;
    }
  }
  delete[] bytes;
}

size_t IdleBytes() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.idle_bytes;
}

}  // namespace rvg::buffer_pool
