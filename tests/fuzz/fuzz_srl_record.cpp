// Fuzz target: the SRL's on-disk parsing (core/srl_format.h) and recovery
// (Srl::Open + Srl::Recover), which read whatever a crash, a bad disk or a
// careless administrator left in the log file.
//
// The first input byte picks the mode; the rest is its input.
//   0  record header: 4 bytes of chain seed, then a 64-byte header.
//      Oracle: a header that decodes, with zero reserved bytes, encodes
//      back to the same bytes and CRC.
//   1  superblock slot (zero-padded to 4096 bytes). Oracle: a valid version
//      2 slot with a zero remainder encodes back to the same bytes.
//   2+ recovery: a real SRL over the in-memory FileEnv of the unit tests,
//      written by Srl itself (records of fuzzed sizes, tail moves, wrap
//      around), then damaged by fuzzed byte patches and recovered.
//      Oracle: recovery either fails with a one-line error or yields
//      consecutive seqs whose data CRCs verify, that Read() returns alike,
//      and that end no lower than the durable floor it was given; an
//      undamaged log yields exactly the records written since the tail.
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "core/srl.h"
#include "core/srl_format.h"
#include "fuzz_util.h"
#include "tests/unit/fault_env.h"

namespace rvg::fuzz {
namespace {

namespace sf = srl_format;

const std::string kUuid = "7d0c4f7e-2a51-4d8b-b3a6-0c9e5f1d2b88";
const std::string kPath = "/h/srl";

void FuzzRecordHeader(const uint8_t* data, size_t size) {
  if (size < 4 + sf::kHeaderBytes) return;
  const uint32_t prev_crc = static_cast<uint32_t>(sf::GetLe(data, 4));
  const uint8_t* raw = data + 4;
  sf::RecordHeader h;
  uint32_t header_crc = 0;
  if (!sf::DecodeRecordHeader(raw, prev_crc, &h, &header_crc)) return;
  static const uint8_t kZeros[sf::kHeaderCrcOffset - 44] = {};
  if (std::memcmp(raw + 44, kZeros, sizeof(kZeros)) != 0) return;
  uint8_t again[sf::kHeaderBytes];
  const uint32_t crc = sf::EncodeRecordHeader(h, prev_crc, again);
  FUZZ_CHECK(crc == header_crc, "re-encoded header has another CRC");
  FUZZ_CHECK(std::memcmp(again, raw, sf::kHeaderBytes) == 0, "header does not round-trip");
}

void FuzzSuperblock(const uint8_t* data, size_t size) {
  std::vector<uint8_t> slot(sf::kSlotBytes, 0);
  std::memcpy(slot.data(), data, std::min<size_t>(size, slot.size()));
  sf::Superblock sb;
  if (sf::DecodeSuperblock(slot.data(), &sb) != sf::SlotState::kValid) return;
  if (sb.version != sf::kFormatVersion) return;
  if (std::any_of(slot.begin() + sf::kSuperblockCrcOffset + 4, slot.end(),
                  [](uint8_t b) { return b != 0; })) {
    return;
  }
  std::vector<uint8_t> again(sf::kSlotBytes);
  sf::EncodeSuperblock(sb, again.data());
  FUZZ_CHECK(again == slot, "superblock does not round-trip");
}

// A record as written: its data is `length` bytes of `fill`.
struct Expected {
  uint32_t volume;
  uint64_t offset;
  uint32_t length;
  uint8_t fill;
};

WriteRecord MakeRecord(uint64_t seq, uint32_t length, uint8_t fill) {
  auto data = std::make_shared<DataBuffer>(length);
  std::memset(data->data(), fill, length);
  return WriteRecord{seq, fill % 3u + 1, seq * 512, length, Crc32c(data->data(), length),
                     std::move(data)};
}

struct WrittenLog {
  std::map<uint64_t, Expected> retained;  // seq -> contents, from the tail on
  uint64_t synced = 0;                    // highest synced_seq checkpointed
  uint64_t end_seq = 0;                   // the newest seq appended
};

// Moves the empty log of a new SRL to a fuzzed place: some laps on, a few
// records before the end of the area, with a first seq above 1. That is a
// state a real log reaches after a long life (empty after its tail caught
// up), and it lets a few small records wrap around the 4 MiB area.
void StartLate(FuzzedDataProvider& in, testing::FaultEnv& env, uint64_t file_size) {
  if (!in.ConsumeBool()) return;
  sf::Superblock sb{.counter = 2, .file_size = file_size, .area_size = sf::AreaSizeFor(file_size)};
  sf::MakeUuidField(kUuid, &sb.uuid);
  const uint64_t lap = in.ConsumeIntegralInRange<uint64_t>(1, 1000);
  const uint64_t before_end = in.ConsumeIntegralInRange<uint64_t>(1, 16) * sf::kAlignment;
  sb.tail = {lap * sb.area_size - before_end,
             in.PickValueInArray<uint64_t>({1, 1000, (1ULL << 32) + 5, 1ULL << 62}),
             in.ConsumeIntegral<uint32_t>()};
  uint8_t slot[sf::kSlotBytes];
  sf::EncodeSuperblock(sb, slot);
  auto file = env.Open(kPath);
  FUZZ_CHECK(file.ok() && (*file)->WriteAt(0, slot, sizeof(slot)).ok() && (*file)->Sync().ok(),
             "cannot rewrite the superblock");
}

// Writes a log through Srl itself, as the engine would.
WrittenLog WriteLog(FuzzedDataProvider& in, testing::FaultEnv& env) {
  const uint64_t size = Srl::kMinSize + in.ConsumeIntegralInRange<uint64_t>(0, 1023);
  FUZZ_CHECK(Srl::Create(kPath, size, kUuid, &env).ok(), "cannot create the SRL");
  StartLate(in, env, size);
  auto opened = Srl::Open(kPath, kUuid, &env);
  FUZZ_CHECK(opened.ok(), "cannot open a new SRL: " + opened.status().message());
  std::unique_ptr<Srl> srl = std::move(*opened);
  FUZZ_CHECK(srl->Recover([](const WriteRecord&) { return Status::Ok(); }).ok(),
             "cannot recover a new SRL");
  WrittenLog log;
  const int rounds = in.ConsumeIntegralInRange(0, 6);
  for (int round = 0; round < rounds; ++round) {
    std::vector<WriteRecord> batch;
    const int n = in.ConsumeIntegralInRange(0, 6);
    for (int i = 0; i < n; ++i) {
      // Mostly small records, and some near the 1 MiB limit that fill and
      // wrap the 4 MiB log in a few rounds. (An exhausted input reads as
      // zeros: small records, which are fast.)
      const uint32_t length =
          in.ConsumeIntegralInRange(0, 15) < 15
              ? in.ConsumeIntegralInRange<uint32_t>(0, 1100)
              : kMaxWriteBytes - in.ConsumeIntegralInRange<uint32_t>(0, 4096);
      batch.push_back(MakeRecord(srl->next_seq() + i, length, in.ConsumeIntegral<uint8_t>()));
    }
    auto appended = srl->Append(batch.data(), batch.size());
    FUZZ_CHECK(appended.ok(), "append failed: " + appended.status().message());
    for (size_t i = 0; i < *appended; ++i) {
      const WriteRecord& r = batch[i];
      const uint8_t fill = r.length > 0 ? r.data->data()[0] : 0;
      log.retained[r.seq] = Expected{r.volume, r.offset, r.length, fill};
    }
    FUZZ_CHECK(srl->Sync().ok(), "sync failed");
    if (in.ConsumeBool()) {
      const uint64_t tail = in.ConsumeIntegralInRange(srl->tail_seq(), srl->next_seq());
      const uint64_t sync = in.ConsumeIntegralInRange<uint64_t>(0, srl->next_seq() - 1);
      Status st = srl->AdvanceTail(tail, sync);
      FUZZ_CHECK(st.ok(), "advancing the tail failed: " + st.message());
      log.synced = std::max(log.synced, sync);
      log.retained.erase(log.retained.begin(), log.retained.lower_bound(tail));
    }
  }
  log.end_seq = srl->next_seq() - 1;
  return log;
}

// Byte patches anywhere in the file, most of them near its front where the
// superblocks and the first records are. Returns whether anything changed.
bool Damage(FuzzedDataProvider& in, testing::FaultEnv& env) {
  auto info = env.Stat(kPath);
  FUZZ_CHECK(info.ok() && info->size > 0, "the SRL is gone");
  const uint64_t size = info->size;
  bool damaged = false;
  const int patches = in.ConsumeIntegralInRange(0, 4);
  for (int p = 0; p < patches; ++p) {
    const uint64_t limit = in.ConsumeBool() ? std::min<uint64_t>(size, sf::kDataStart + 65536)
                                            : size;
    const uint64_t offset = in.ConsumeIntegralInRange<uint64_t>(0, limit - 1);
    for (uint8_t mask : in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(1, 8))) {
      env.Corrupt(kPath, offset, mask);
      damaged = damaged || mask != 0;
    }
  }
  return damaged;
}

// The synced_seq of the checkpoint Open will use: the valid slot with the
// higher counter (srl_format.h). Damage to the newest slot makes Open fall
// back to the older one, whose floor is lower; that is the format's design
// (a torn checkpoint write looks the same), not a loss recovery can see.
uint64_t CheckpointFloor(testing::FaultEnv& env) {
  auto file = env.Open(kPath);
  uint8_t slots[2 * sf::kSlotBytes];
  FUZZ_CHECK(file.ok() && (*file)->ReadAt(0, slots, sizeof(slots)).ok(), "cannot read slots");
  bool found = false;
  sf::Superblock best;
  for (int i = 0; i < 2; ++i) {
    sf::Superblock sb;
    if (sf::DecodeSuperblock(slots + i * sf::kSlotBytes, &sb) != sf::SlotState::kValid) continue;
    if (!found || sb.counter > best.counter) best = sb;
    found = true;
  }
  return found ? best.synced_seq : 0;
}

void FuzzRecovery(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  testing::FaultEnv env;
  const WrittenLog log = WriteLog(in, env);
  const bool damaged = Damage(in, env);
  const uint64_t durable_seq = in.ConsumeIntegralInRange<uint64_t>(0, log.end_seq + 2);

  auto opened = Srl::Open(kPath, kUuid, &env);
  if (!opened.ok()) {
    FUZZ_CHECK(damaged, "an undamaged SRL does not open: " + opened.status().message());
    CheckErrorMessage(opened.status());
    return;
  }
  std::unique_ptr<Srl> srl = std::move(*opened);
  const uint64_t first_seq = srl->tail_seq();
  std::vector<WriteRecord> visited;
  Status st = srl->Recover(
      [&](const WriteRecord& r) {
        visited.push_back(r);
        return Status::Ok();
      },
      durable_seq);
  // Recovery must refuse to end at or below the floor.
  const uint64_t floor = std::max(durable_seq, damaged ? CheckpointFloor(env) : log.synced);
  if (!st.ok()) {
    FUZZ_CHECK(damaged || floor > log.end_seq, "an undamaged SRL fails recovery: " + st.message());
    CheckErrorMessage(st);
    return;
  }
  for (size_t i = 0; i < visited.size(); ++i) {
    const WriteRecord& r = visited[i];
    FUZZ_CHECK(r.seq == first_seq + i, "recovered seqs are not consecutive");
    FUZZ_CHECK(r.data && r.data->size() == r.length && r.length <= kMaxWriteBytes,
               "recovered record with a bad length");
    FUZZ_CHECK(Crc32c(r.data->data(), r.length) == r.data_crc, "recovered data fails its CRC");
    auto read = srl->Read(r.seq);
    FUZZ_CHECK(read.ok() && read->length == r.length && read->volume == r.volume &&
                   read->offset == r.offset &&
                   std::memcmp(read->data->data(), r.data->data(), r.length) == 0,
               "Read() disagrees with recovery");
  }
  FUZZ_CHECK(srl->next_seq() == first_seq + visited.size(), "next_seq after recovery");
  FUZZ_CHECK(srl->next_seq() > floor,
             "recovered below the floor: next seq " + std::to_string(srl->next_seq()) +
                 ", floor " + std::to_string(floor));
  if (!damaged) {
    FUZZ_CHECK(visited.size() == log.retained.size(), "an undamaged SRL lost records");
    for (const WriteRecord& r : visited) {
      const Expected& want = log.retained.at(r.seq);
      const uint8_t* bytes = r.data->data();
      FUZZ_CHECK(r.volume == want.volume && r.offset == want.offset && r.length == want.length &&
                     std::all_of(bytes, bytes + r.length,
                                 [&want](uint8_t b) { return b == want.fill; }),
                 "an undamaged SRL returned other data");
    }
  }
  // The log stays usable after whatever recovery accepted.
  WriteRecord next = MakeRecord(srl->next_seq(), 100, 0x5a);
  auto appended = srl->Append(&next, 1);
  FUZZ_CHECK(appended.ok(), "append after recovery failed: " + appended.status().message());
  if (*appended == 1) {
    auto read = srl->Read(next.seq);
    FUZZ_CHECK(read.ok() && read->data_crc == next.data_crc, "cannot read back a new record");
  }
}

std::vector<uint8_t> Prefixed(uint8_t mode, const uint8_t* bytes, size_t n) {
  std::vector<uint8_t> input = {mode};
  input.insert(input.end(), bytes, bytes + n);
  return input;
}

std::vector<Seed> MakeSeeds() {
  std::vector<Seed> seeds;
  uint8_t header[4 + sf::kHeaderBytes] = {};
  sf::PutLe(header, 0x1234abcd, 4);
  sf::RecordHeader h{.type = sf::kTypeWrite, .salt = 99, .volume = 1, .seq = 7, .offset = 4096,
                     .length = 512, .data_crc = 0xdeadbeef,
                     .record_bytes = static_cast<uint32_t>(sf::RecordBytesFor(512))};
  sf::EncodeRecordHeader(h, 0x1234abcd, header + 4);
  seeds.push_back({"header_write", Prefixed(0, header, sizeof(header))});
  h = {.type = sf::kTypeWrap, .salt = 99, .seq = 8, .record_bytes = 1536};
  sf::EncodeRecordHeader(h, 0, header + 4);
  seeds.push_back({"header_wrap", Prefixed(0, header, sizeof(header))});

  sf::Superblock sb{.counter = 3, .file_size = Srl::kMinSize,
                    .area_size = sf::AreaSizeFor(Srl::kMinSize), .tail = {1024, 5, 0x77},
                    .synced_seq = 4};
  sf::MakeUuidField(kUuid, &sb.uuid);
  std::vector<uint8_t> slot(sf::kSlotBytes);
  sf::EncodeSuperblock(sb, slot.data());
  seeds.push_back({"superblock", Prefixed(1, slot.data(), sf::kSuperblockCrcOffset + 4)});

  // Recovery inputs are read by FuzzedDataProvider (integers from the end,
  // bytes from the front): a few patterns that write, wrap and damage.
  for (uint8_t fill : {0x00, 0x11, 0x7f, 0xa5, 0xff}) {
    std::vector<uint8_t> bytes(96, fill);
    for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<uint8_t>(i * 37);
    seeds.push_back({"recovery_" + std::to_string(fill), Prefixed(2, bytes.data(), bytes.size())});
  }
  return seeds;
}

}  // namespace
}  // namespace rvg::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  rvg::fuzz::MaybeWriteSeeds(argc, argv, rvg::fuzz::MakeSeeds);
  spdlog::set_level(spdlog::level::off);  // Recover logs a line per call
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  switch (data[0]) {
    case 0: rvg::fuzz::FuzzRecordHeader(data + 1, size - 1); break;
    case 1: rvg::fuzz::FuzzSuperblock(data + 1, size - 1); break;
    default: rvg::fuzz::FuzzRecovery(data + 1, size - 1); break;
  }
  return 0;
}
