#include "net/zmq_util.h"

#include <random>

namespace rvg {

namespace {
void ReleaseDataRef(void* /*data*/, void* hint) { delete static_cast<DataRef*>(hint); }
}  // namespace

bool SendMessage(zmq::socket_t& socket, const std::vector<zmq::message_t*>& prefix,
                 const std::string& header, const DataRef& data) {
  bool first = true;
  auto flags_for = [&](bool more) {
    zmq::send_flags f = first ? zmq::send_flags::dontwait : zmq::send_flags::none;
    if (more) f = f | zmq::send_flags::sndmore;
    return f;
  };
  for (zmq::message_t* p : prefix) {
    zmq::message_t copy;
    copy.copy(*p);
    auto sent = socket.send(copy, flags_for(true));
    if (!sent) return false;  // only possible for the first frame
    first = false;
  }
  zmq::message_t head(header.data(), header.size());
  auto sent = socket.send(head, flags_for(data != nullptr));
  if (!sent) return false;
  first = false;
  if (data) {
    auto* hint = new DataRef(data);
    zmq::message_t body(const_cast<uint8_t*>(data->data()), data->size(), ReleaseDataRef, hint);
    socket.send(body, zmq::send_flags::none);
  }
  return true;
}

bool ReceiveMessage(zmq::socket_t& socket, std::vector<zmq::message_t>* frames,
                    size_t max_frames) {
  frames->clear();
  zmq::message_t part;
  auto got = socket.recv(part, zmq::recv_flags::dontwait);
  if (!got) return false;
  bool more = part.more();
  frames->push_back(std::move(part));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next, zmq::recv_flags::none);  // the rest is already here
    more = next.more();
    if (frames->size() < max_frames) frames->push_back(std::move(next));
  }
  return true;
}

uint64_t RandomSessionId() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  uint64_t id = 0;
  while (id == 0) id = gen();
  return id;
}

}  // namespace rvg
