// What `rvgadm create` makes survives a power cut the moment it returns:
// the sized images and the SRL, their contents and their directory entries
// (issue: a cut right after create left data.img at 0 bytes).
#include <catch2/catch.hpp>

#include "core/srl.h"
#include "core/volume_set.h"
#include "fault_env.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

const std::vector<VolumeSpec> kSpecs = {{1, "data", "/h/data.img", 8 << 20},
                                        {2, "logs", "/h/logs.img", 1 << 20}};

}  // namespace

TEST_CASE("created images and SRL survive a power cut right after create") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    FaultEnv env;
    REQUIRE(VolumeSet::CreateImages(kSpecs, &env).ok());
    REQUIRE(Srl::Create("/h/srl", Srl::kMinSize, "uuid-c", &env).ok());
    env.PowerCut(seed, 0.0);  // nothing unsynced survives

    auto volumes = VolumeSet::Open(kSpecs, &env);
    REQUIRE(volumes.ok());
    auto srl = Srl::Open("/h/srl", "uuid-c", &env);
    REQUIRE(srl.ok());
    REQUIRE((*srl)->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
    CHECK((*srl)->next_seq() == 1);
  }
}

TEST_CASE("a create that fails part-way removes what it made") {
  FaultEnv env;
  env.InjectError(Fault{FaultOp::kSetSize, "logs.img", ENOSPC, 0, true});
  Status st = VolumeSet::CreateImages(kSpecs, &env);
  CHECK(st.code() == ENOSPC);
  CHECK_FALSE(env.Exists("/h/data.img"));
  CHECK_FALSE(env.Exists("/h/logs.img"));
}
