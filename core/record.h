// WriteRecord: one sequenced write as it travels through rvg — from the FUSE
// layer into the SRL, to the local image, over an RLINK, into a secondary's
// reorder buffer and onto its image.
//
// Invariants: `length == data->size()`, `data_crc == Crc32c(data)`, and the
// range [offset, offset + length) lies inside volume `volume`. The data buffer
// is immutable once the record is sequenced and is shared (not copied) by
// everyone that holds the record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/buffer_pool.h"

namespace rvg {

// A buffer of exactly `size` bytes. Usually storage of its own, from and
// back to the BufferPool, left uninitialized on purpose: it is always
// filled by a copy or a read right after allocation.
class DataBuffer {
 public:
  explicit DataBuffer(size_t size) : size_(size), bytes_(buffer_pool::Take(size, &capacity_)) {}
  // Views `size` bytes at `bytes` that something else owns, so that they
  // need not be copied. Whoever holds the buffer must keep the owner alive:
  // the secondary's receiver puts both in one object and hands out a
  // DataRef aliasing it (a received frame becomes the record's data).
  DataBuffer(uint8_t* bytes, size_t size) : size_(size), owned_(false), bytes_(bytes) {}
  ~DataBuffer() {
    if (owned_) buffer_pool::Give(bytes_, capacity_);
  }
  DataBuffer(const DataBuffer&) = delete;
  DataBuffer& operator=(const DataBuffer&) = delete;
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  size_t capacity_ = 0;
  bool owned_ = true;  // false when viewing another's bytes
  uint8_t* bytes_;
};

using DataRef = std::shared_ptr<const DataBuffer>;

// Largest single write rvg accepts (FUSE max_write, wire message limit).
inline constexpr uint32_t kMaxWriteBytes = 1u << 20;

struct WriteRecord {
  uint64_t seq = 0;
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t data_crc = 0;
  DataRef data;
};

}  // namespace rvg
