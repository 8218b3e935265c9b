// Srl: what survives a reopen, what a crash leaves behind, and the errors an
// administrator sees.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/crc32c.h"
#include "core/srl.h"
#include "core/srl_format.h"

namespace {

namespace sf = rvg::srl_format;

const std::string kUuid = "6a0e1c8e-2f4b-4c1e-9d3a-5b7f2e8c4d10";

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/rvg-srl-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Data bytes are a function of (seq, length, variant), so any reader can
// tell what a record must contain.
rvg::WriteRecord MakeRecord(uint64_t seq, uint32_t length, uint32_t variant = 0) {
  std::mt19937 rng(static_cast<uint32_t>(seq * 7919 + length * 31 + variant));
  auto buffer = std::make_shared<rvg::DataBuffer>(length);
  for (uint32_t i = 0; i < length; ++i) buffer->data()[i] = static_cast<uint8_t>(rng());
  uint32_t crc = rvg::Crc32c(buffer->data(), length);
  return rvg::WriteRecord{seq, static_cast<uint32_t>(seq % 3), seq * 4096, length, crc,
                          std::move(buffer)};
}

bool SameRecord(const rvg::WriteRecord& a, const rvg::WriteRecord& b) {
  return a.seq == b.seq && a.volume == b.volume && a.offset == b.offset && a.length == b.length &&
         a.data_crc == b.data_crc && a.data && b.data && a.data->size() == b.data->size() &&
         std::memcmp(a.data->data(), b.data->data(), a.length) == 0;
}

std::unique_ptr<rvg::Srl> OpenAndRecover(const std::string& path,
                                         std::vector<rvg::WriteRecord>* visited = nullptr) {
  auto opened = rvg::Srl::Open(path, kUuid);
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  std::unique_ptr<rvg::Srl> srl = std::move(*opened);
  rvg::Status st = srl->Recover([&](const rvg::WriteRecord& r) {
    if (visited != nullptr) visited->push_back(r);
    return rvg::Status::Ok();
  });
  INFO(st.ToString());
  REQUIRE(st.ok());
  return srl;
}

std::unique_ptr<rvg::Srl> CreateAndRecover(const std::string& path,
                                           uint64_t size = rvg::Srl::kMinSize) {
  rvg::Status st = rvg::Srl::Create(path, size, kUuid);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return OpenAndRecover(path);
}

void AppendAll(rvg::Srl& srl, const std::vector<rvg::WriteRecord>& records) {
  auto n = srl.Append(records.data(), records.size());
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  REQUIRE(*n == records.size());
}

// Records with seqs first.. and the given lengths.
std::vector<rvg::WriteRecord> MakeRecords(uint64_t first, const std::vector<uint32_t>& lengths,
                                          uint32_t variant = 0) {
  std::vector<rvg::WriteRecord> records;
  for (uint32_t length : lengths) records.push_back(MakeRecord(first++, length, variant));
  return records;
}

void CheckSameRecords(const std::vector<rvg::WriteRecord>& got,
                      const std::vector<rvg::WriteRecord>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("record " << i << " seq " << want[i].seq);
    CHECK(SameRecord(got[i], want[i]));
  }
}

// Closes `srl`, then reopens and recovers it: the scan must yield `want`.
void Reopen(std::unique_ptr<rvg::Srl>* srl, const std::string& path,
            const std::vector<rvg::WriteRecord>& want) {
  srl->reset();
  std::vector<rvg::WriteRecord> recovered;
  *srl = OpenAndRecover(path, &recovered);
  CheckSameRecords(recovered, want);
}

// File offset of records[index] in a log written from LSN 0 without wrapping.
uint64_t FileOffsetOf(const std::vector<rvg::WriteRecord>& records, size_t index) {
  uint64_t offset = sf::kDataStart;
  for (size_t i = 0; i < index; ++i) offset += rvg::Srl::RecordBytes(records[i].length);
  return offset;
}

std::vector<uint8_t> ReadFileAt(const std::string& path, uint64_t offset, size_t n) {
  std::vector<uint8_t> bytes(n);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  REQUIRE(in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n)));
  return bytes;
}

void PatchFile(const std::string& path, uint64_t offset, const void* bytes, size_t n) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out.seekp(static_cast<std::streamoff>(offset));
  REQUIRE(out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n)));
}

void FlipByte(const std::string& path, uint64_t offset) {
  uint8_t b = ReadFileAt(path, offset, 1)[0] ^ 0x5a;
  PatchFile(path, offset, &b, 1);
}

std::string OpenError(const std::string& path, const std::string& uuid = kUuid) {
  auto opened = rvg::Srl::Open(path, uuid);
  REQUIRE_FALSE(opened.ok());
  return opened.status().message();
}

}  // namespace

TEST_CASE("RecordBytes is the 64-byte header plus data, padded to 512") {
  CHECK(rvg::Srl::RecordBytes(0) == 512);
  CHECK(rvg::Srl::RecordBytes(448) == 512);
  CHECK(rvg::Srl::RecordBytes(449) == 1024);
  CHECK(rvg::Srl::RecordBytes(4096) == 4608);
  CHECK(rvg::Srl::RecordBytes(rvg::kMaxWriteBytes) == rvg::kMaxWriteBytes + 512);
}

TEST_CASE("Appended records read back and survive a reopen byte for byte") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  CHECK(srl->tail_seq() == 1);
  CHECK(srl->next_seq() == 1);
  CHECK(srl->used_bytes() == 0);
  CHECK(srl->capacity_bytes() == rvg::Srl::kMinSize - sf::kDataStart);

  auto records = MakeRecords(1, {1, 448, 449, 512, 4096, 65536, 100000, 7, rvg::kMaxWriteBytes});
  AppendAll(*srl, records);
  REQUIRE(srl->Sync().ok());
  CHECK(srl->next_seq() == 10);
  uint64_t used = 0;
  for (const auto& r : records) used += rvg::Srl::RecordBytes(r.length);
  CHECK(srl->used_bytes() == used);
  for (const auto& r : records) {
    auto read = srl->Read(r.seq);
    INFO(read.status().ToString());
    REQUIRE(read.ok());
    CHECK(SameRecord(*read, r));
  }

  Reopen(&srl, path, records);
  CHECK(srl->next_seq() == 10);
  CHECK(srl->used_bytes() == used);
}

TEST_CASE("Recovery after many appends and tail moves starts at the last checkpoint") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path, 16ull << 20);
  std::deque<rvg::WriteRecord> retained;
  std::mt19937 rng(11);
  uint64_t seq = 1;
  for (int round = 0; round < 40; ++round) {
    std::vector<rvg::WriteRecord> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(MakeRecord(seq++, 1 + rng() % 20000));
    AppendAll(*srl, batch);
    retained.insert(retained.end(), batch.begin(), batch.end());
    size_t drop = rng() % (retained.size() + 1);
    retained.erase(retained.begin(), retained.begin() + static_cast<long>(drop));
    REQUIRE(srl->AdvanceTail(retained.empty() ? seq : retained.front().seq).ok());
    if (round % 10 == 9) {
      Reopen(&srl, path, {retained.begin(), retained.end()});
      CHECK(srl->next_seq() == seq);
    }
  }
}

TEST_CASE("The log wraps over many laps and keeps its data intact across reopens") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  const uint64_t capacity = srl->capacity_bytes();
  std::deque<rvg::WriteRecord> retained;
  std::mt19937 rng(12);
  auto random_length = [&]() -> uint32_t {
    switch (rng() % 10) {
      case 0: return rvg::kMaxWriteBytes - rng() % 4096;
      case 1: case 2: case 3: return 1 + rng() % (256u << 10);
      default: return 512 + rng() % 8192;
    }
  };
  uint64_t seq = 1;
  uint64_t appended_bytes = 0;
  for (int iteration = 0; appended_bytes < 8 * capacity; ++iteration) {
    std::vector<rvg::WriteRecord> batch;
    for (int i = 1 + rng() % 8; i > 0; --i) batch.push_back(MakeRecord(seq++, random_length()));
    size_t done = 0;
    while (done < batch.size()) {
      auto n = srl->Append(batch.data() + done, batch.size() - done);
      REQUIRE(n.ok());
      for (size_t i = done; i < done + *n; ++i) {
        retained.push_back(batch[i]);
        appended_bytes += rvg::Srl::RecordBytes(batch[i].length);
      }
      done += *n;
      REQUIRE(srl->used_bytes() <= capacity);
      if (*n == 0 || rng() % 3 == 0) {
        REQUIRE_FALSE(retained.empty());  // an empty log always has room
        size_t drop = 1 + rng() % retained.size();
        retained.erase(retained.begin(), retained.begin() + static_cast<long>(drop));
        uint64_t new_tail = retained.empty() ? srl->next_seq() : retained.front().seq;
        REQUIRE(srl->AdvanceTail(new_tail).ok());
      }
    }
    if (iteration % 20 == 19) {
      Reopen(&srl, path, {retained.begin(), retained.end()});
      REQUIRE(srl->next_seq() == seq);
      for (const auto& r : retained) {
        auto read = srl->Read(r.seq);
        REQUIRE(read.ok());
        CHECK(SameRecord(*read, r));
      }
    }
  }
  Reopen(&srl, path, {retained.begin(), retained.end()});
}

TEST_CASE("A tail placed right after a WRAP record recovers with the right chain seed") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  // Three 1 MiB records fill most of the first lap; the fourth does not fit
  // before the end, so a WRAP precedes it and it starts lap 1.
  const uint32_t big = rvg::kMaxWriteBytes;
  auto first = MakeRecords(1, {big, big, big});
  AppendAll(*srl, first);
  REQUIRE(srl->AdvanceTail(2).ok());
  auto fourth = MakeRecords(4, {big});
  AppendAll(*srl, fourth);
  CHECK(srl->used_bytes() == srl->capacity_bytes());  // the WRAP's bytes count as used
  REQUIRE(srl->AdvanceTail(4).ok());
  CHECK(srl->used_bytes() == rvg::Srl::RecordBytes(big));

  Reopen(&srl, path, fourth);
  auto fifth = MakeRecords(5, {1000});
  AppendAll(*srl, fifth);

  Reopen(&srl, path, {fourth[0], fifth[0]});
  auto read = srl->Read(4);
  REQUIRE(read.ok());
  CHECK(SameRecord(*read, fourth[0]));
}

TEST_CASE("A full log appends nothing until the tail moves") {
  TempDir dir;
  auto srl = CreateAndRecover(dir.File("srl"));
  uint64_t seq = 1;
  for (;;) {
    auto record = MakeRecord(seq, rvg::kMaxWriteBytes);
    auto n = srl->Append(&record, 1);
    REQUIRE(n.ok());
    if (*n == 0) break;
    ++seq;
  }
  CHECK(seq == 4);  // three 1 MiB records fit in a 4 MiB SRL
  CHECK(srl->used_bytes() <= srl->capacity_bytes());
  REQUIRE(srl->AdvanceTail(2).ok());
  auto record = MakeRecord(seq, rvg::kMaxWriteBytes);
  auto n = srl->Append(&record, 1);
  REQUIRE(n.ok());
  CHECK(*n == 1);
}

TEST_CASE("Append rejects records that can never be logged") {
  TempDir dir;
  auto srl = CreateAndRecover(dir.File("srl"));
  auto too_big = MakeRecord(1, rvg::kMaxWriteBytes + 1);
  auto n = srl->Append(&too_big, 1);
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.status().message(), Catch::Contains("cannot fit"));

  auto wrong_seq = MakeRecord(2, 100);
  n = srl->Append(&wrong_seq, 1);
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.status().message(), Catch::Contains("seq 1 comes next"));
  CHECK(srl->next_seq() == 1);
}

TEST_CASE("Recovery stops before a torn record and keeps everything before it") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  auto records = MakeRecords(1, {3000, 5000, 100, 70000, 2000, 9000});
  AppendAll(*srl, records);
  srl.reset();

  size_t torn = 0;
  uint64_t damage_at = 0;
  SECTION("data of the last record") {
    torn = 5;
    damage_at = FileOffsetOf(records, torn) + sf::kHeaderBytes + 4321;
  }
  SECTION("a header field of a middle record") {
    torn = 3;
    damage_at = FileOffsetOf(records, torn) + 24;  // offset of the write
  }
  SECTION("the magic of a middle record") {
    torn = 2;
    damage_at = FileOffsetOf(records, torn);
  }
  FlipByte(path, damage_at);

  Reopen(&srl, path, {records.begin(), records.begin() + static_cast<long>(torn)});
  CHECK(srl->next_seq() == torn + 1);

  // The log goes on from the torn point.
  auto more = MakeRecords(torn + 1, {777, 888}, 1);
  AppendAll(*srl, more);
  std::vector<rvg::WriteRecord> want(records.begin(), records.begin() + static_cast<long>(torn));
  want.insert(want.end(), more.begin(), more.end());
  Reopen(&srl, path, want);
}

TEST_CASE("A record left behind a rewrite in the same lap does not validate") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  std::vector<uint32_t> lengths = {1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000};
  auto old = MakeRecords(1, lengths);
  AppendAll(*srl, old);
  srl.reset();

  // Crash with record 5 torn: recovery keeps 1..4.
  FlipByte(path, FileOffsetOf(old, 4) + sf::kHeaderBytes + 10);
  Reopen(&srl, path, {old.begin(), old.begin() + 4});

  // A new record 5 of the same size: old 6.. still sit exactly where
  // record 6 would go, in the same lap.
  auto fresh = MakeRecords(5, {5000}, 1);
  AppendAll(*srl, fresh);
  std::vector<rvg::WriteRecord> want(old.begin(), old.begin() + 4);
  want.push_back(fresh[0]);
  Reopen(&srl, path, want);
  CHECK(srl->next_seq() == 6);

  auto more = MakeRecords(6, {6000, 7000}, 1);
  AppendAll(*srl, more);
  want.insert(want.end(), more.begin(), more.end());
  Reopen(&srl, path, want);
  CHECK(srl->next_seq() == 8);
}

TEST_CASE("A record carrying the salt of an earlier lap is not taken") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  // Fill lap 0 exactly with 512-byte records, in one batch of far more
  // than IOV_MAX iovecs, then release them all: the head sits at the start
  // of lap 1.
  const uint64_t count = srl->capacity_bytes() / 512;
  AppendAll(*srl, MakeRecords(1, std::vector<uint32_t>(count, 448)));
  REQUIRE(srl->AdvanceTail(count + 1).ok());
  srl.reset();

  // Forge record count+1 at the start of the area, correctly chained from
  // the last record; only its salt decides.
  const auto last_crc = static_cast<uint32_t>(sf::GetLe(
      ReadFileAt(path, sf::kDataStart + (count - 1) * 512 + sf::kHeaderCrcOffset, 4).data(), 4));
  auto record = MakeRecord(count + 1, 448, 1);
  sf::UuidField uuid{};
  std::memcpy(uuid.data(), kUuid.data(), kUuid.size());
  auto forge = [&](uint64_t lap) {
    sf::RecordHeader h{.salt = sf::LapSalt(uuid, lap), .volume = record.volume, .seq = record.seq,
                       .offset = record.offset, .length = record.length,
                       .data_crc = record.data_crc, .record_bytes = 512};
    uint8_t raw[sf::kHeaderBytes];
    sf::EncodeRecordHeader(h, last_crc, raw);
    PatchFile(path, sf::kDataStart, raw, sizeof(raw));
    PatchFile(path, sf::kDataStart + sf::kHeaderBytes, record.data->data(), record.length);
  };

  forge(0);
  Reopen(&srl, path, {});
  CHECK(srl->next_seq() == count + 1);
  srl.reset();

  forge(1);  // the same record with the right salt is accepted
  Reopen(&srl, path, {record});
}

TEST_CASE("Read fails cleanly once the tail has moved past the record") {
  TempDir dir;
  auto srl = CreateAndRecover(dir.File("srl"));
  AppendAll(*srl, MakeRecords(1, {100, 200, 300}));
  REQUIRE(srl->AdvanceTail(3).ok());
  auto read = srl->Read(2);
  REQUIRE_FALSE(read.ok());
  CHECK_THAT(read.status().message(), Catch::Contains("record 2 is no longer in the SRL"));
  CHECK(srl->Read(3).ok());
}

TEST_CASE("Reads racing appends and tail moves return the right bytes or a clean error") {
  TempDir dir;
  auto srl = CreateAndRecover(dir.File("srl"));
  const uint64_t total = 3000;
  auto length_of = [](uint64_t seq) { return static_cast<uint32_t>(4000 + seq % 3000); };
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  rvg::Status writer_status;
  std::thread writer([&] {
    // A full 4 MiB log holds over 500 of these records, so keeping the
    // newest 100 always frees space.
    for (uint64_t seq = 1; seq <= total && writer_status.ok() && !stop; ++seq) {
      auto record = MakeRecord(seq, length_of(seq));
      for (;;) {
        auto n = srl->Append(&record, 1);
        if (!n.ok()) writer_status = n.status();
        if (!n.ok() || *n == 1) break;
        writer_status = srl->AdvanceTail(srl->next_seq() - 100);
        if (!writer_status.ok()) break;
      }
    }
    done = true;
  });
  struct Joiner {
    std::thread& thread;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      thread.join();
    }
  } joiner{writer, stop};

  std::mt19937 rng(13);
  uint64_t good = 0;
  while (!done) {
    uint64_t tail = srl->tail_seq();
    uint64_t next = srl->next_seq();
    if (next == tail) continue;
    uint64_t seq = tail + rng() % (next - tail);
    auto read = srl->Read(seq);
    if (read.ok()) {
      REQUIRE(SameRecord(*read, MakeRecord(seq, length_of(seq))));
      ++good;
    } else {
      REQUIRE_THAT(read.status().message(), Catch::Contains("no longer in the SRL"));
    }
  }
  INFO(writer_status.ToString());
  REQUIRE(writer_status.ok());
  CHECK(srl->next_seq() == total + 1);
  CHECK(good > 0);
}

TEST_CASE("A torn checkpoint write falls back to the previous checkpoint") {
  TempDir dir;
  const std::string path = dir.File("srl");
  auto srl = CreateAndRecover(path);
  auto records = MakeRecords(1, std::vector<uint32_t>(10, 1500));
  AppendAll(*srl, records);
  REQUIRE(srl->AdvanceTail(4).ok());  // slot 1
  REQUIRE(srl->AdvanceTail(7).ok());  // slot 0, the newest
  srl.reset();
  FlipByte(path, 110);  // inside slot 0's tail_seq

  Reopen(&srl, path, {records.begin() + 3, records.end()});
  CHECK(srl->tail_seq() == 4);
}

TEST_CASE("Opening an unusable SRL says why") {
  TempDir dir;
  const std::string path = dir.File("srl");
  REQUIRE(rvg::Srl::Create(path, rvg::Srl::kMinSize, kUuid).ok());

  SECTION("another RVG's SRL") {
    CHECK(OpenError(path, "other-uuid") ==
          "SRL " + path + " belongs to another RVG (uuid " + kUuid + ")");
  }
  SECTION("a newer format") {
    sf::Superblock sb;
    sb.version = sf::kFormatVersion + 1;
    uint8_t slot[sf::kSlotBytes];
    sf::EncodeSuperblock(sb, slot);
    PatchFile(path, 0, slot, sizeof(slot));
    CHECK_THAT(OpenError(path), Catch::Contains("written by a newer rvg"));
  }
  SECTION("both superblocks damaged") {
    FlipByte(path, 30);
    FlipByte(path, sf::kSlotBytes + 30);
    CHECK_THAT(OpenError(path),
               Catch::StartsWith("SRL " + path + " is damaged: no valid superblock"));
  }
  SECTION("a resized file") {
    std::filesystem::resize_file(path, rvg::Srl::kMinSize + 4096);
    CHECK_THAT(OpenError(path), Catch::Contains("truncated or resized"));
  }
  SECTION("a missing file") {
    CHECK_THAT(OpenError(dir.File("missing")), Catch::Contains("No such file"));
  }
}

TEST_CASE("Create refuses to overwrite data and to build a log too small to use") {
  TempDir dir;
  const std::string path = dir.File("srl");
  {
    std::ofstream out(path);
    out << "precious";
  }
  rvg::Status st = rvg::Srl::Create(path, rvg::Srl::kMinSize, kUuid);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("already exists and is not empty"));
  CHECK(std::filesystem::file_size(path) == 8);

  st = rvg::Srl::Create(dir.File("small"), rvg::Srl::kMinSize - 1, kUuid);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("minimum"));
  CHECK_FALSE(std::filesystem::exists(dir.File("small")));

  const std::string empty = dir.File("empty");
  { std::ofstream out(empty); }
  REQUIRE(rvg::Srl::Create(empty, rvg::Srl::kMinSize + 1000, kUuid).ok());
  CHECK(std::filesystem::file_size(empty) == rvg::Srl::kMinSize + 1000);
  auto srl = OpenAndRecover(empty);
  CHECK(srl->capacity_bytes() == (rvg::Srl::kMinSize + 1000 - sf::kDataStart) / 512 * 512);
}

TEST_CASE("a locked SRL cannot be locked again, nor initialized by Create") {
  TempDir dir;
  const std::string path = dir.File("srl");
  REQUIRE(rvg::Srl::Create(path, rvg::Srl::kMinSize, kUuid).ok());
  auto first = rvg::Srl::Open(path, kUuid);
  REQUIRE(first.ok());
  REQUIRE((*first)->Lock().ok());
  auto second = rvg::Srl::Open(path, kUuid);
  REQUIRE(second.ok());
  rvg::Status status = (*second)->Lock();
  REQUIRE_FALSE(status.ok());
  INFO(status.message());
  CHECK(status.code() == EWOULDBLOCK);
  CHECK(status.message().find(path) != std::string::npos);
  CHECK(status.message().find("pid " + std::to_string(::getpid())) != std::string::npos);

  // An empty file someone holds is not initialized under them.
  const std::string empty = dir.File("empty-srl");
  { std::ofstream touch(empty); }
  int holder = ::open(empty.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(holder >= 0);
  REQUIRE(::flock(holder, LOCK_EX | LOCK_NB) == 0);
  status = rvg::Srl::Create(empty, rvg::Srl::kMinSize, kUuid);
  CHECK(status.code() == EWOULDBLOCK);
  CHECK(std::filesystem::file_size(empty) == 0);
  ::close(holder);
}
