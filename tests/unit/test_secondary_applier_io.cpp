// SecondaryApplier's system calls, counted through the rig's CountingEnv:
// a run of records adjacent on a volume reaches the image in one pwritev.
#include <catch2/catch.hpp>

#include <vector>

#include "core/secondary_applier.h"
#include "secondary_fixture.h"

using namespace rvg;
using namespace rvg::testing;

TEST_CASE("the applier writes records adjacent on a volume in one pwritev, in seq order") {
  SecondaryRig rig;
  auto applier = rig.Applier();
  REQUIRE(applier->Start().ok());
  std::vector<WriteRecord> records;
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    records.push_back(rig.Expect(MakeRecord(seq, 1, (seq - 1) * 4096, 4096)));
  }
  // Seq 13 overwrites seq 12 exactly: a write of its own, after it.
  records.push_back(rig.Expect(MakeRecord(13, 1, 11 * 4096, 4096)));
  records.push_back(rig.Expect(MakeRecord(14, 2, 0, 512)));
  // Seq 1 last: the whole run is ready, logged and applied at once.
  for (size_t i = 1; i < records.size(); ++i) applier->Offer(records[i]);
  applier->Offer(records[0]);
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 14; }));
  CHECK(rig.env.Of("alpha").writes == std::vector<size_t>{12, 1});
  CHECK(rig.env.Of("beta").writes == std::vector<size_t>{1});
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}
