#include "base/ids.h"

#include <cstdio>
#include <random>

namespace stageline {

std::string new_uuid() {
  // std::random_device reads getrandom(2) on Linux; one per thread keeps it lock-free.
  thread_local std::random_device device;
  thread_local std::mt19937_64 gen((static_cast<uint64_t>(device()) << 32) ^
                                   static_cast<uint64_t>(device()));
  uint64_t hi = gen(), lo = gen();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

}  // namespace stageline
