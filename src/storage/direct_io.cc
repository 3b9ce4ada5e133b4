#include "storage/direct_io.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "storage/fd_io.h"

namespace nvemu {
namespace {

bool Aligned(uint64_t v) { return (v & (kDirectAlign - 1)) == 0; }

// The calling thread's bounce buffer, at least `len` bytes and kDirectAlign aligned.
uint8_t* Bounce(size_t len) {
  struct Buffer {
    uint8_t* p = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  if (buf.size < len) {
    std::free(buf.p);
    buf.size = 0;
    buf.p = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlign, len));
    if (buf.p != nullptr) buf.size = len;
  }
  return buf.p;
}

}  // namespace

IoStatus DirectRead(int fd, void* dst, size_t len, uint64_t off) {
  if (len == 0) return IoStatus{};
  if (Aligned(off) && Aligned(len) && Aligned(reinterpret_cast<uintptr_t>(dst))) {
    return ReadFullyAt(fd, dst, len, off);
  }
  const uint64_t start = off & ~(kDirectAlign - 1);
  const uint64_t end = (off + len + kDirectAlign - 1) & ~(kDirectAlign - 1);
  uint8_t* b = Bounce(static_cast<size_t>(end - start));
  if (b == nullptr) return IoStatus{ENOMEM};
  if (IoStatus st = ReadFullyAt(fd, b, static_cast<size_t>(end - start), start); !st.ok()) {
    return st;
  }
  std::memcpy(dst, b + (off - start), len);
  return IoStatus{};
}

IoStatus DirectWrite(int fd, const void* src, size_t len, uint64_t off, DirectLocks& locks) {
  if (len == 0) return IoStatus{};
  if (Aligned(off) && Aligned(len) && Aligned(reinterpret_cast<uintptr_t>(src))) {
    return WriteFullyAt(fd, src, len, off);
  }
  const uint64_t start = off & ~(kDirectAlign - 1);
  const uint64_t end = (off + len + kDirectAlign - 1) & ~(kDirectAlign - 1);
  const size_t span = static_cast<size_t>(end - start);
  uint8_t* b = Bounce(span);
  if (b == nullptr) return IoStatus{ENOMEM};
  const bool head_partial = off != start;
  const bool tail_partial = off + len != end;
  if (!head_partial && !tail_partial) {
    // Only the buffer is unaligned: copy, write, no read-modify-write.
    std::memcpy(b, src, len);
    return WriteFullyAt(fd, b, len, off);
  }
  // Read-modify-write of the partial first/last blocks under their stripe locks (ordered by
  // stripe index so that two writers never deadlock).
  const uint64_t first = start / kDirectAlign;
  const uint64_t last = end / kDirectAlign - 1;
  std::mutex* a = &locks.For(first);
  std::mutex* z = &locks.For(last);
  if (a > z) std::swap(a, z);
  std::unique_lock<std::mutex> la(*a);
  std::unique_lock<std::mutex> lz;
  if (z != a) lz = std::unique_lock<std::mutex>(*z);
  if (head_partial) {
    if (IoStatus st = ReadFullyAt(fd, b, kDirectAlign, start); !st.ok()) return st;
  }
  if (tail_partial && (end - kDirectAlign != start || !head_partial)) {
    if (IoStatus st = ReadFullyAt(fd, b + span - kDirectAlign, kDirectAlign, end - kDirectAlign);
        !st.ok()) {
      return st;
    }
  }
  std::memcpy(b + (off - start), src, len);
  return WriteFullyAt(fd, b, span, start);
}

}  // namespace nvemu
