// BufferPool: recycled storage for write data (DataBuffer).
//
// Every write carries its bytes in a heap buffer from the FUSE callback
// until the record is on the image and acknowledged by every secondary, and
// a secondary holds each received write the same way. Allocated afresh,
// buffers of 128 KiB and more come from mmap or from the top of the heap,
// which glibc gives back to the kernel when they are freed: every write
// then pays page faults and the kernel's zeroing of its pages. The pool
// keeps freed buffers of the common sizes and hands them out again.
//
// Sizes from kMinPooled to kMaxPooled are rounded up to a power of two (so
// a buffer may be up to twice its data); other sizes are plain new[]. The
// free buffers kept are bounded by kMaxIdleBytes in all, so the pool adds
// at most that to rvgd's resident memory beyond what is in use.
//
// Thread-safe (one mutex; a Take or Give is a few instructions under it).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvg::buffer_pool {

inline constexpr size_t kMinPooled = 4096;
inline constexpr size_t kMaxPooled = 1u << 20;
inline constexpr size_t kMaxIdleBytes = 16u << 20;

// Storage for at least `size` bytes; `*capacity` says how much, and must be
// handed back to Give() with it.
uint8_t* Take(size_t size, size_t* capacity);
void Give(uint8_t* bytes, size_t capacity);

// Bytes of free buffers held (for tests).
size_t IdleBytes();

}  // namespace rvg::buffer_pool
