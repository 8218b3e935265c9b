// RLINKs for engine tests: an RlinkSet as rvgd would load it from state.db.
#pragma once

#include <memory>
#include <string>

#include "core/rlink_set.h"

namespace rvg {

// One RLINK named `name` with default (asynchronous) attributes and the
// given persisted progress; progress(0) is its seqs, which tests move by
// hand to play the secondary.
inline std::shared_ptr<RlinkSet> OneRlink(const std::string& name, uint64_t sent_seq = 0,
                                          uint64_t net_acked_seq = 0,
                                          uint64_t data_acked_seq = 0,
                                          const RlinkPolicy& policy = RlinkPolicy{}) {
  RlinkInit init;
  init.name = name;
  init.policy = policy;
  init.sent_seq = sent_seq;
  init.net_acked_seq = net_acked_seq;
  init.data_acked_seq = data_acked_seq;
  return std::make_shared<RlinkSet>(std::vector<RlinkInit>{init});
}

}  // namespace rvg
