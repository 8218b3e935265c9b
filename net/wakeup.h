// Wakeup: an eventfd that one thread signals and another polls (in a
// zmq_poll item alongside its sockets), so a socket-owning thread can sleep
// in one poll and still be woken by the engine.
//
// Shared ownership is deliberate: the engine may keep a listener that
// signals it after the polling side has gone, and the fd must not be closed
// (and reused by someone else) while anyone can still signal it.
#pragma once

#include <memory>

namespace rvg {

class Wakeup {
 public:
  static std::shared_ptr<Wakeup> Create();  // aborts only if eventfd fails
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  void Signal();
  void Drain();  // consumes pending signals; call after poll reports the fd
  int fd() const { return fd_; }

 private:
  explicit Wakeup(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace rvg
