#include "net/region_streamer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/region_hash.h"
#include "net/messages.h"
#include "net/zmq_util.h"

namespace rvg {

RegionStreamer::RegionStreamer(PrimaryRvg* engine, DcmTracker* dcm, size_t rlink,
                               std::string rlink_name, uint64_t window_bytes)
    : engine_(engine),
      dcm_(dcm),
      rlink_(rlink),
      name_(std::move(rlink_name)),
      window_bytes_(window_bytes) {}

void RegionStreamer::Begin(uint64_t session_id, uint64_t resync_seq, bool checksum) {
  if (session_id != session_id_) Reset();
  Finish();
  active_ = true;
  checksum_ = checksum;
  session_id_ = session_id;
  resync_seq_ = resync_seq;
  mark_generation_ = dcm_->mark_generation(rlink_);
  bytes_total_ = dcm_->dirty_bytes(rlink_);
  spdlog::info("rlink {}: {} resync to seq {} begins: {} regions, {} bytes", name_,
               checksum ? "checksum" : "bitmap", resync_seq, dcm_->dirty_regions(rlink_),
               bytes_total_);
}

void RegionStreamer::Reset() {
  Finish();
  session_id_ = 0;
  next_number_ = 1;
}

void RegionStreamer::Finish() {
  if (active_) PersistClears();
  active_ = false;
  cursor_ = RegionRef{};
  piece_offset_ = 0;
  walk_done_ = false;
  first_walk_ = true;
  region_differs_ = false;
  in_flight_.clear();
  in_flight_bytes_ = 0;
  bytes_done_ = 0;
  bytes_total_ = 0;
  error_.clear();
}

RegionStreamer::Step RegionStreamer::Pump(zmq::socket_t& socket, const std::string& rvg_uuid,
                                          const std::string& generation,
                                          const std::function<bool()>& throttled,
                                          const std::function<void(uint64_t)>& charge) {
  while (in_flight_bytes_ < window_bytes_) {
    if (throttled()) return Step::kThrottled;
    if (walk_done_) {
      if (!in_flight_.empty()) return Step::kWindowFull;
      // Everything sent was acknowledged; regions left dirty (those a
      // COMPARE found different: tracking stopped when the resync began)
      // get another walk, which sends their data.
      if (dcm_->dirty_regions(rlink_) == 0) {
        PersistClears();
        return Step::kDone;
      }
      cursor_ = RegionRef{};
      walk_done_ = false;
      first_walk_ = false;
    }
    std::optional<std::pair<RegionRef, VolumeExtent>> next = dcm_->NextDirty(rlink_, cursor_);
    if (!next) {
      walk_done_ = true;
      continue;
    }
    const auto& [region, first_extent] = *next;
    if (!(region == cursor_)) piece_offset_ = 0;
    cursor_ = region;
    // Data goes in pieces of up to 1 MiB: dirty regions that follow each
    // other join the piece (a checksum walk compares region by region, so
    // that one differing region costs one region of data).
    VolumeExtent extent = first_extent;
    uint32_t count = 1;
    if (piece_offset_ == 0 && !(first_walk_ && checksum_)) {
      for (;;) {
        auto more = dcm_->NextDirty(rlink_, RegionRef{region.volume, region.index + count});
        if (!more || more->first.volume != region.volume ||
            more->first.index != region.index + count ||
            extent.length + more->second.length > kMaxWriteBytes) {
          break;
        }
        extent.length += more->second.length;
        ++count;
      }
    }
    Result<bool> sent = SendPiece(socket, rvg_uuid, generation, region, &count, &extent, charge);
    if (!sent.ok()) {
      error_ = "reading region data for the resync: " + sent.status().message();
      return Step::kFailed;
    }
    if (!*sent) return Step::kBlocked;
    const uint64_t length = std::min<uint64_t>(extent.length - piece_offset_, kMaxWriteBytes);
    const bool last = piece_offset_ + length == extent.length;
    ++next_number_;
    if (last) {
      piece_offset_ = 0;
      // Past these regions: the next walk step starts at the one after.
      cursor_.index = region.index + count;
    } else {
      piece_offset_ += length;
    }
  }
  return Step::kWindowFull;
}

// A COMPARE costs the window this much: it holds no data, but the window
// also bounds how many the secondary must queue.
constexpr uint64_t kCompareCost = 4096;

// The regions a joined piece (`count` > 1, from offset 0) starts with
// that are, like its first, all zero or all not: a first walk compares the
// zero ones without data, so zero and data regions must not share a piece.
uint32_t RegionStreamer::LeadingRunOfSameKind(const uint8_t* data, uint64_t length,
                                              uint32_t count) const {
  const uint64_t size = dcm_->region_size();
  const bool first_zero = IsAllZero(data, std::min(size, length));
  uint32_t n = 1;
  while (n < count && n * size < length &&
         IsAllZero(data + n * size, std::min(size, length - n * size)) == first_zero) {
    ++n;
  }
  return n;
}

Result<bool> RegionStreamer::SendPiece(zmq::socket_t& socket, const std::string& rvg_uuid,
                                       const std::string& generation, const RegionRef& region,
                                       uint32_t* count, VolumeExtent* extent,
                                       const std::function<void(uint64_t)>& charge) {
  const uint64_t offset = extent->offset + piece_offset_;
  uint64_t length = std::min<uint64_t>(extent->length - piece_offset_, kMaxWriteBytes);
  // A hole in a sparse image is compared without reading it.
  const bool hole = first_walk_ && engine_->RangeIsHole(extent->volume, offset, length);
  std::shared_ptr<DataBuffer> buffer;
  if (!hole) {
    buffer = std::make_shared<DataBuffer>(length);
    Status st = engine_->ReadForResync(extent->volume, offset, buffer->data(), length);
    if (!st.ok()) return st;
    if (first_walk_ && *count > 1) {
      const uint32_t n = LeadingRunOfSameKind(buffer->data(), length, *count);
      if (n < *count) {
        // The piece ends where the kind changes; the rest is the next piece.
        length = n * dcm_->region_size();
        auto shorter = std::make_shared<DataBuffer>(length);
        std::memcpy(shorter->data(), buffer->data(), length);
        buffer = shorter;
        *count = n;
        extent->length = length;
      }
    }
  }
  const bool zero = hole || IsAllZero(buffer->data(), length);
  const bool last = piece_offset_ + length == extent->length;
  InFlight f{next_number_, region, *count, last, length};
  if (first_walk_ && (checksum_ || zero)) {
    const RegionHash hash = hole ? ZeroHash(length) : HashRegion(buffer->data(), length);
    CompareMsg m{session_id_, CompareKind::kResync, next_number_, extent->volume, offset,
                 static_cast<uint32_t>(length), hash.high, hash.low, 0};
    if (!SendMessage(socket, {}, Encode(m), nullptr)) return false;
    f.compared = true;
    f.zero = zero;
    in_flight_bytes_ += kCompareCost;
  } else {
    WriteMsg m;
    m.region = true;
    m.rvg_uuid = rvg_uuid;
    m.generation = generation;
    m.session_id = session_id_;
    m.seq = next_number_;
    m.volume = extent->volume;
    m.offset = offset;
    m.length = static_cast<uint32_t>(length);
    m.data_crc = Crc32c(buffer->data(), length);
    if (!SendMessage(socket, {}, Encode(m), buffer)) return false;
    charge(length);
    counters_.resync_bytes_sent += length;
    in_flight_bytes_ += length;
  }
  in_flight_.push_back(f);
  return true;
}

void RegionStreamer::Compared(uint64_t number, bool same) {
  if (!same) return;  // the same as no answer: the data goes
  for (InFlight& f : in_flight_) {
    if (f.number == number && f.compared) {
      f.same = true;
      return;
    }
  }
}

void RegionStreamer::Acked(uint64_t regions_done) {
  std::vector<RegionRef> cleared;
  while (!in_flight_.empty() && in_flight_.front().number <= regions_done) {
    const InFlight& f = in_flight_.front();
    in_flight_bytes_ -= f.compared ? kCompareCost : f.bytes;
    if (f.compared && !f.same) {
      region_differs_ = true;  // found different, or the answer was lost: the next walk sends it
    } else {
      bytes_done_ += f.bytes;
      if (f.compared && f.last_piece) {
        (f.zero ? counters_.regions_zero : counters_.regions_identical) += f.regions;
      }
    }
    if (f.last_piece) {
      for (uint32_t i = 0; i < f.regions && !region_differs_; ++i) {
        cleared.push_back(RegionRef{f.region.volume, f.region.index + i});
      }
      region_differs_ = false;
    }
    in_flight_.pop_front();
  }
  if (cleared.empty()) return;
  // A clear that is not persisted only means those regions travel again
  // after a restart, so the clears are saved once a second (and at the
  // end) rather than in a store transaction per ACK; one refused because
  // the bitmap was marked meanwhile (the resync was cut short) leaves them
  // for the next resync.
  const auto now = std::chrono::steady_clock::now();
  const bool persist = now - clears_persisted_ >= kPersistClearsEvery;
  Result<bool> done = dcm_->ClearIfUnmarked(rlink_, cleared, mark_generation_, persist);
  if (!done.ok()) spdlog::warn("rlink {}: {}", name_, done.status().message());
  if (persist && done.ok()) clears_persisted_ = now;
}

void RegionStreamer::PersistClears() {
  Status st = dcm_->PersistClears(rlink_);
  if (!st.ok()) spdlog::warn("rlink {}: {}", name_, st.message());
  clears_persisted_ = std::chrono::steady_clock::now();
}

}  // namespace rvg
