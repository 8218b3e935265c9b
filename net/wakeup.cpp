#include "net/wakeup.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace rvg {

std::shared_ptr<Wakeup> Wakeup::Create() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    std::perror("rvg: eventfd");
    std::abort();
  }
  return std::shared_ptr<Wakeup>(new Wakeup(fd));
}

Wakeup::~Wakeup() { close(fd_); }

void Wakeup::Signal() {
  uint64_t one = 1;
  // EAGAIN means the counter is saturated, i.e. already signalled.
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof(one));
}

void Wakeup::Drain() {
  uint64_t value;
  [[maybe_unused]] ssize_t n = read(fd_, &value, sizeof(value));
}

}  // namespace rvg
