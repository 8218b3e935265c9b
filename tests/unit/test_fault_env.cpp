// FaultEnv: the in-memory disk that the power-cut suites trust. Each test
// pins one rule of the durability model in core/file_env.h.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "core/srl.h"
#include "core/volume_set.h"
#include "engine_fixture.h"
#include "fault_env.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

// A file created, sized and dir-synced: it exists durably, full of zeros.
std::unique_ptr<File> DurableFile(FaultEnv& env, const std::string& path, uint64_t size) {
  auto file = env.Create(path);
  REQUIRE(file.ok());
  REQUIRE((*file)->SetSize(size).ok());
  REQUIRE((*file)->Sync().ok());
  REQUIRE(env.SyncDirOf(path).ok());
  return std::move(*file);
}

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t offset, size_t n) {
  return std::vector<uint8_t>(v.begin() + offset, v.begin() + offset + n);
}

}  // namespace

TEST_CASE("reads see unsynced writes; a power cut keeps only what was synced") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 8192);
  auto synced = Pattern(1, 3000);
  REQUIRE(file->WriteAt(100, synced.data(), synced.size()).ok());
  REQUIRE(file->Sync().ok());
  auto unsynced = Pattern(2, 2000);
  REQUIRE(file->WriteAt(5000, unsynced.data(), unsynced.size()).ok());
  std::vector<uint8_t> back(unsynced.size());
  REQUIRE(file->ReadAt(5000, back.data(), back.size()).ok());
  CHECK(back == unsynced);

  env.PowerCut(7, 0.0);
  auto after = env.Contents("/d/f");
  REQUIRE(after.size() == 8192);
  CHECK(Slice(after, 100, synced.size()) == synced);
  CHECK(Slice(after, 5000, unsynced.size()) == std::vector<uint8_t>(unsynced.size(), 0));
}

TEST_CASE("a power cut with keep probability 1 keeps every unsynced write") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 4096);
  auto a = Pattern(3, 700);
  auto b = Pattern(4, 900);
  REQUIRE(file->WriteAt(10, a.data(), a.size()).ok());
  REQUIRE(file->WriteAt(300, b.data(), b.size()).ok());
  auto expected = env.Contents("/d/f");
  env.PowerCut(1, 1.0);
  CHECK(env.Contents("/d/f") == expected);
}

TEST_CASE("a torn write keeps whole sectors, some new and some old") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 64 << 10);
  auto old_data = Pattern(5, 64 << 10);
  REQUIRE(file->WriteAt(0, old_data.data(), old_data.size()).ok());
  REQUIRE(file->Sync().ok());
  auto new_data = Pattern(6, 64 << 10);
  REQUIRE(file->WriteAt(0, new_data.data(), new_data.size()).ok());
  env.PowerCut(42, 0.5);
  auto after = env.Contents("/d/f");
  REQUIRE(after.size() == old_data.size());
  int kept = 0, lost = 0;
  for (size_t s = 0; s < after.size(); s += 512) {
    auto sector = Slice(after, s, 512);
    if (sector == Slice(new_data, s, 512)) {
      ++kept;
    } else {
      INFO("sector at " << s << " is neither all old nor all new");
      REQUIRE(sector == Slice(old_data, s, 512));
      ++lost;
    }
  }
  CHECK(kept > 0);
  CHECK(lost > 0);
}

TEST_CASE("a sector written twice ends up as some prefix of its writes, never a mix") {
  // Two sub-sector writes into one sector: writeback carries the page as it
  // was, so the sector is old, old+A or old+A+B — never old+B without A.
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 512);
  const uint8_t a = 0xAA, b = 0xBB;
  bool seen[4] = {};
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto f = env.Open("/d/f");
    REQUIRE(f.ok());
    REQUIRE((*f)->WriteAt(0, &a, 1).ok());
    REQUIRE((*f)->WriteAt(1, &b, 1).ok());
    env.PowerCut(seed, 0.5);
    auto after = env.Contents("/d/f");
    REQUIRE(after.size() == 512);
    INFO("seed " << seed);
    CHECK(!(after[0] == 0 && after[1] == b));
    seen[(after[0] == a ? 1 : 0) + (after[1] == b ? 2 : 0)] = true;
    // Back to zeros for the next round.
    auto g = env.Open("/d/f");
    const uint8_t zeros[2] = {};
    REQUIRE((*g)->WriteAt(0, zeros, 2).ok());
    REQUIRE((*g)->Sync().ok());
  }
  CHECK(seen[0]);
  CHECK(seen[1]);
  CHECK(seen[3]);
}

TEST_CASE("a file exists after a power cut only once its directory was synced") {
  FaultEnv env;
  {
    auto file = env.Create("/d/new");
    REQUIRE(file.ok());
    REQUIRE((*file)->SetSize(4096).ok());
    REQUIRE((*file)->Sync().ok());
  }
  CHECK(env.Exists("/d/new"));
  env.PowerCut(1, 1.0);
  CHECK_FALSE(env.Exists("/d/new"));

  DurableFile(env, "/d/kept", 4096);
  REQUIRE(env.Create("/other/x").ok());
  REQUIRE(env.SyncDirOf("/d/anything").ok());  // another directory's entry stays volatile
  REQUIRE(env.Remove("/d/kept").ok());
  CHECK_FALSE(env.Exists("/d/kept"));
  env.PowerCut(2, 1.0);
  CHECK(env.Exists("/d/kept"));  // the removal was never dir-synced
  CHECK_FALSE(env.Exists("/other/x"));

  REQUIRE(env.Remove("/d/kept").ok());
  REQUIRE(env.SyncDirOf("/d/kept").ok());
  env.PowerCut(3, 1.0);
  CHECK_FALSE(env.Exists("/d/kept"));
}

TEST_CASE("an unsynced size change may be lost") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 4096);
  REQUIRE(file->SetSize(1 << 20).ok());
  REQUIRE(*file->Size() == 1u << 20);
  env.PowerCut(9, 0.0);
  auto reopened = env.Open("/d/f");
  REQUIRE(reopened.ok());
  CHECK(*(*reopened)->Size() == 4096);
}

TEST_CASE("a frozen env refuses all I/O; the cut applies to the state at the freeze") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 4096);
  const uint64_t ops = env.mutating_ops();
  env.CutAfterOps(2);
  auto a = Pattern(7, 512);
  REQUIRE(file->WriteAt(0, a.data(), a.size()).ok());
  REQUIRE(file->WriteAt(512, a.data(), a.size()).ok());
  CHECK_FALSE(env.frozen());
  Status st = file->WriteAt(1024, a.data(), a.size());
  CHECK(st.code() == EIO);
  CHECK(env.frozen());
  CHECK(file->Sync().code() == EIO);
  std::vector<uint8_t> back(512);
  CHECK_FALSE(file->ReadAt(0, back.data(), back.size()).ok());
  CHECK_FALSE(env.Create("/d/g").ok());
  CHECK(env.mutating_ops() == ops + 5);

  env.PowerCut(1, 1.0);
  CHECK_FALSE(env.frozen());
  auto after = env.Contents("/d/f");
  CHECK(Slice(after, 0, 512) == a);
  CHECK(Slice(after, 512, 512) == a);
  CHECK(Slice(after, 1024, 512) == std::vector<uint8_t>(512, 0));
  // Code still running from before the cut cannot touch the disk.
  st = file->WriteAt(0, a.data(), a.size());
  CHECK(st.code() == EIO);
  CHECK(st.message().find("power is off") != std::string::npos);
  auto reopened = env.Open("/d/f");
  REQUIRE(reopened.ok());
  CHECK((*reopened)->WriteAt(0, a.data(), a.size()).ok());
}

TEST_CASE("a failed sync drops the pending data; the retry succeeds over the loss") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/srl", 4096);
  auto a = Pattern(8, 1000);
  REQUIRE(file->WriteAt(0, a.data(), a.size()).ok());
  env.InjectError(Fault{FaultOp::kSync, "srl", EIO, 0, false});
  Status st = file->Sync();
  CHECK(st.code() == EIO);
  CHECK(env.Contents("/d/srl") == std::vector<uint8_t>(4096, 0));  // gone from the cache too
  CHECK(file->Sync().ok());                                         // once: the fault is spent
  env.PowerCut(1, 1.0);
  CHECK(env.Contents("/d/srl") == std::vector<uint8_t>(4096, 0));
}

TEST_CASE("injected write errors write nothing and fire after the given count") {
  FaultEnv env;
  auto img = DurableFile(env, "/d/img", 4096);
  auto other = DurableFile(env, "/d/other", 4096);
  env.InjectError(Fault{FaultOp::kWriteAt, "img", ENOSPC, 1, true});
  const uint8_t x = 1;
  CHECK(img->WriteAt(0, &x, 1).ok());  // the first matching op passes
  CHECK(other->WriteAt(1, &x, 1).ok());  // does not match
  Status st = img->WriteAt(2, &x, 1);
  CHECK(st.code() == ENOSPC);
  CHECK(img->WriteAt(3, &x, 1).code() == ENOSPC);  // sticky
  auto contents = env.Contents("/d/img");
  CHECK(contents[0] == 1);
  CHECK(contents[2] == 0);
  CHECK(contents[3] == 0);
  env.ClearFaults();
  CHECK(img->WriteAt(3, &x, 1).ok());

  env.InjectError(Fault{FaultOp::kRead, "other", EIO, 0, false});
  uint8_t byte;
  CHECK(other->ReadAt(0, &byte, 1).code() == EIO);
  CHECK(other->ReadAt(0, &byte, 1).ok());
  env.InjectError(Fault{FaultOp::kAllocate, "other", ENOSPC, 0, true});
  CHECK(other->Allocate(1 << 20).code() == ENOSPC);
  CHECK(*other->Size() == 4096);
}

TEST_CASE("Corrupt flips a durable byte") {
  FaultEnv env;
  auto file = DurableFile(env, "/d/f", 4096);
  env.Corrupt("/d/f", 100, 0x5A);
  CHECK(env.Contents("/d/f")[100] == 0x5A);
  env.PowerCut(1, 0.0);
  CHECK(env.Contents("/d/f")[100] == 0x5A);
}

TEST_CASE("the SRL and the images created over the env survive a power cut") {
  FaultEnv env;
  std::vector<VolumeSpec> specs = {{1, "a", "/h/a.img", 256 << 10}, {2, "b", "/h/b.img", 1 << 20}};
  REQUIRE(VolumeSet::CreateImages(specs, &env).ok());
  REQUIRE(Srl::Create("/h/srl", Srl::kMinSize, "uuid", &env).ok());
  env.PowerCut(1, 0.0);
  auto set = VolumeSet::Open(specs, &env);
  REQUIRE(set.ok());
  auto srl = Srl::Open("/h/srl", "uuid", &env);
  REQUIRE(srl.ok());
  CHECK((*srl)->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
  CHECK((*srl)->next_seq() == 1);
}

TEST_CASE("a lock is exclusive per open file, and a power cut releases it") {
  FaultEnv env;
  auto a = env.Create("/h/f");
  REQUIRE(a.ok());
  REQUIRE((*a)->Lock().ok());
  CHECK((*a)->Lock().ok());  // the holder may ask again
  auto b = env.Open("/h/f");
  REQUIRE(b.ok());
  Status st = (*b)->Lock();
  CHECK(st.code() == EWOULDBLOCK);
  a->reset();
  CHECK((*b)->Lock().ok());

  REQUIRE(env.SyncDirOf("/h/f").ok());
  env.PowerCut(1, 1.0);  // b's process died with the power
  auto c = env.Open("/h/f");
  REQUIRE(c.ok());
  CHECK((*c)->Lock().ok());
}
