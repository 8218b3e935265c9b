// Small helpers shared by the RLINK sender and receiver: sending a header
// frame (with an optional zero-copy data frame) and receiving a whole
// multipart message without blocking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/record.h"

namespace rvg {

// Non-blocking send of [prefix frames..., header, data?]. Returns false when
// the socket would block before the first frame was queued (nothing sent).
// ZeroMQ queues the remaining frames of a multipart message atomically once
// the first is accepted. `data`, when set, is sent without copying; the
// frame keeps the buffer alive until ZeroMQ is done with it.
bool SendMessage(zmq::socket_t& socket, const std::vector<zmq::message_t*>& prefix,
                 const std::string& header, const DataRef& data);

// Non-blocking receive of one whole multipart message into `frames`,
// keeping at most `max_frames` of them (the rest are read and dropped, so
// a message with too many frames shows up as one with max_frames and is
// refused by the caller). Returns false when nothing is waiting.
bool ReceiveMessage(zmq::socket_t& socket, std::vector<zmq::message_t>* frames,
                    size_t max_frames = 5);

// A random non-zero 64-bit id.
uint64_t RandomSessionId();

}  // namespace rvg
