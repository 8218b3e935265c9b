// Fuzz target: what StateDb reads back from a state.db whose rows were
// written by something other than rvg (a hand edit, a damaged or foreign
// file), through the same read paths rvgd and rvgadm use.
//
// Each input builds a real state.db (the schema of state/schema.h, made by
// StateDb::Open) and fills its tables over a raw SQLite connection, with
// foreign keys off, from fuzzed values: text with any bytes, integers
// including negatives and 64-bit extremes, reals and blobs in any column,
// or a plausible valid value. Then StateDb opens it and reads everything.
//
// Oracle: no crash, no UB, no exception; every failure is a one-line error
// Status; and whatever a read returns OK is a configuration rvg could have
// stored itself: an RVG passes the RVG row checks (role, durability, region
// size, volume ids and names), an RLINK passes CheckRlinkAttributes.
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "state/config_check.h"
#include "state/state_db.h"

namespace rvg::fuzz {
namespace {

std::string g_db_path;              // the state.db each input rebuilds
std::vector<char> g_fresh_db;       // a state.db just created by StateDb::Open

// One column's value: any SQLite storage class, or the plausible value.
void BindValue(FuzzedDataProvider& in, sqlite3_stmt* st, int index, const char* plausible) {
  static constexpr int64_t kInts[] = {0, 1, -1, 511, 512, 4096, 0xffffffffLL, 0x100000001LL,
                                      std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max()};
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0: sqlite3_bind_int64(st, index, in.PickValueInArray(kInts)); break;
    case 1: sqlite3_bind_int64(st, index, in.ConsumeIntegral<int64_t>()); break;
    case 2: sqlite3_bind_double(st, index, in.ConsumeFloatingPoint<double>()); break;
    case 3: {
      const std::string text = in.ConsumeRandomLengthString(48);
      sqlite3_bind_text(st, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      break;
    }
    case 4: {
      const std::string blob = in.ConsumeRandomLengthString(16);
      sqlite3_bind_blob(st, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      break;
    }
    default: sqlite3_bind_text(st, index, plausible, -1, SQLITE_STATIC); break;
  }
}

struct Table {
  const char* insert;
  std::vector<const char*> plausible;  // one per "?", in order
};

// Column 1 of every table but meta is the RVG name; its plausible value
// is one of a few names so that rows of different tables meet.
const Table kTables[] = {
    {"INSERT INTO rvgs (name, uuid, role, durability, listen, region_size, srl_path, srl_size, "
     "generation, created_at, srl_uuid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
     {"vg", "uuid-1", "primary", "flush", "tcp://127.0.0.1:7000", "65536", "/h/srl", "4194304",
      "gen-1", "1700000000", "srl-uuid"}},
    {"INSERT INTO volumes (rvg, id, name, path, size) VALUES (?,?,?,?,?)",
     {"vg", "1", "data", "/h/data.img", "1048576"}},
    {"INSERT INTO rlinks (rvg, name, address, synchronous, sync_ack, ack_timeout, latencyprot, "
     "latency_high_mark, latency_low_mark, srlprot, bandwidth_limit, state, sent_seq, "
     "net_acked_seq, data_acked_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
     {"vg", "london", "tcp://10.0.0.2:7000", "off", "received", "5.0", "off", "10000", "9000",
      "autodcm", "0", "connected", "10", "9", "8"}},
    {"INSERT INTO secondary_progress (rvg, applied_seq) VALUES (?,?)", {"vg", "100"}},
    {"INSERT INTO generations (rvg, uuid, start_seq, created_at) VALUES (?,?,?,?)",
     {"vg", "gen-1", "1", "1700000000"}},
    {"INSERT INTO flags (rvg, name, value, set_at) VALUES (?,?,?,?)",
     {"vg", "failover", "pending", "1700000000"}},
    {"UPDATE meta SET value = ? WHERE key = 'format'", {"2"}},
};

void FillTables(FuzzedDataProvider& in) {
  sqlite3* db = nullptr;
  FUZZ_CHECK(sqlite3_open(g_db_path.c_str(), &db) == SQLITE_OK, "cannot open the fuzz db");
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  const int rows = in.ConsumeIntegralInRange(0, 12);
  for (int r = 0; r < rows && in.remaining_bytes() > 0; ++r) {
    const Table& table = kTables[in.ConsumeIntegralInRange<size_t>(0, std::size(kTables) - 1)];
    sqlite3_stmt* st = nullptr;
    FUZZ_CHECK(sqlite3_prepare_v2(db, table.insert, -1, &st, nullptr) == SQLITE_OK,
               sqlite3_errmsg(db));
    for (size_t i = 0; i < table.plausible.size(); ++i) {
      BindValue(in, st, static_cast<int>(i + 1), table.plausible[i]);
    }
    sqlite3_step(st);  // a constraint may refuse the row; that is fine
    sqlite3_finalize(st);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

void CheckRlink(const Result<RlinkConfig>& rlink) {
  if (!rlink.ok()) return CheckErrorMessage(rlink.status());
  Status st = CheckRlinkAttributes(rlink.value());
  FUZZ_CHECK(st.ok(), "read an RLINK rvg would never store: " + st.message());
  FUZZ_CHECK(!rlink->name.empty(), "read an RLINK without a name");
}

void CheckRvg(const Result<RvgConfig>& rvg) {
  if (!rvg.ok()) return CheckErrorMessage(rvg.status());
  // A secondary from format 1 has no SRL; rvgd refuses to start it with
  // its own message, but rvgadm must still be able to show and delete it.
  RvgConfig with_srl = rvg.value();
  if (with_srl.srl_path.empty() && with_srl.role == "secondary") {
    with_srl.srl_path = "/legacy";
    with_srl.srl_uuid = "legacy";
  }
  Status st = CheckRvgConfig(with_srl);
  FUZZ_CHECK(st.ok(), "read an RVG rvg would never store: " + st.message());
  std::set<uint32_t> ids;
  for (const VolumeSpec& v : rvg->volumes) {
    FUZZ_CHECK(v.id != 0, "read volume id 0");
    FUZZ_CHECK(ids.insert(v.id).second, "read a volume id twice: " + std::to_string(v.id));
    FUZZ_CHECK(v.size != 0, "read a volume of size 0");
  }
}

void ReadEverything(FuzzedDataProvider& in) {
  auto db = StateDb::Open(g_db_path);
  if (!db.ok()) return CheckErrorMessage(db.status());
  StateDb& state = **db;
  auto names = state.ListRvgs();
  if (!names.ok()) return CheckErrorMessage(names.status());
  names->push_back(in.ConsumeRandomLengthString(16));  // most likely no such RVG
  for (const std::string& name : *names) {
    CheckRvg(state.GetRvg(name));
    auto rlinks = state.ListRlinks(name);
    if (!rlinks.ok()) {
      CheckErrorMessage(rlinks.status());
    } else {
      for (const RlinkConfig& rlink : *rlinks) {
        CheckRlink(rlink);
        CheckRlink(state.GetRlink(name, rlink.name));
        // What `rvgadm set` does with fuzzed text, then read it back.
        Status set = state.SetRlinkAttribute(name, rlink.name, in.ConsumeRandomLengthString(20),
                                             in.ConsumeRandomLengthString(20));
        if (!set.ok()) CheckErrorMessage(set);
        CheckRlink(state.GetRlink(name, rlink.name));
      }
    }
    if (auto seq = state.AppliedSeq(name); !seq.ok()) CheckErrorMessage(seq.status());
    if (auto gens = state.Generations(name); !gens.ok()) CheckErrorMessage(gens.status());
    if (auto flags = state.Flags(name); !flags.ok()) CheckErrorMessage(flags.status());
  }
}

std::vector<Seed> MakeSeeds() {
  // FuzzedDataProvider takes integers from the end of the input and strings
  // from the front; a run of 0xff picks the plausible value for most
  // columns, so these seeds start from mostly valid rows.
  std::vector<Seed> seeds;
  for (size_t n : {16, 64, 200, 600}) {
    std::vector<uint8_t> bytes(n, 0xff);
    for (size_t i = 0; i < n; i += 5) bytes[i] = static_cast<uint8_t>(i * 29);
    seeds.push_back({"rows_" + std::to_string(n), bytes});
  }
  seeds.push_back({"text", Bytes("primary\\flush\\tcp://h:1\\london\\off\\received\\5\\")});
  return seeds;
}

void RemoveDb() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    unlink((g_db_path + suffix).c_str());
  }
}

// A fresh state.db, made once by StateDb itself and copied for each input:
// creating the schema every time would cost more than the fuzzing.
void MakeFreshDb() {
  const char* shm = "/dev/shm";  // tmpfs when present: the commits fsync
  std::string dir = (access(shm, W_OK) == 0 ? std::string(shm) : "/tmp") + "/rvg-fuzz-XXXXXX";
  FUZZ_CHECK(mkdtemp(dir.data()) != nullptr, "mkdtemp failed");
  g_db_path = dir + "/state.db";
  {
    auto db = StateDb::Open(g_db_path);
    FUZZ_CHECK(db.ok(), "cannot create a state.db: " + db.status().message());
  }
  std::ifstream in(g_db_path, std::ios::binary);
  g_fresh_db.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  FUZZ_CHECK(!g_fresh_db.empty(), "empty fresh state.db");
  std::atexit([] {
    RemoveDb();
    rmdir(g_db_path.substr(0, g_db_path.rfind('/')).c_str());
  });
}

}  // namespace
}  // namespace rvg::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  rvg::fuzz::MaybeWriteSeeds(argc, argv, rvg::fuzz::MakeSeeds);
  rvg::fuzz::MakeFreshDb();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rvg::fuzz;
  RemoveDb();
  {
    std::ofstream out(g_db_path, std::ios::binary | std::ios::trunc);
    out.write(g_fresh_db.data(), static_cast<std::streamsize>(g_fresh_db.size()));
  }
  FuzzedDataProvider in(data, size);
  FillTables(in);
  ReadEverything(in);
  return 0;
}
