// NVMe/TCP initiator (host side, userspace): connects to any NVMe/TCP target (nvemu's, the Linux
// kernel's nvmet, SPDK) the way a host driver does (NVMe/TCP 1.0, NVMe Base 2.0 chapter 6):
//   TcpQueue  - one TCP connection = one queue: ICReq/ICResp, command capsules with in-capsule data
//               or R2T/H2CData, C2HData, CapsuleResp, optional header/data digests. Synchronous
//               Execute() plus Submit()/Poll()/Reap() for several commands in flight.
//   TcpDriver - one host association: the admin queue (Connect with CNTLID FFFFh), Property Get/Set
//               bring-up (CC.EN, CSTS.RDY), Identify, Keep Alive, discovery log, I/O queues
//               (a new connection + Connect with the CNTLID) and read/write helpers.
// Tests, `nvemu identify --tcp` and `nvemu perf --tcp` use it.
//
// Threading: a TcpQueue is used by one thread at a time; TcpDriver's admin methods by one thread at
// a time (the I/O queues it hands out may each be driven by their own thread).
#pragma once

#include <nvme/types.h>
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nvemu/command.h"
#include "nvemu/status.h"

namespace nvemu::host {

struct TcpQueueOptions {
  bool header_digest = false;                // ICReq DGST bit 0
  bool data_digest = false;                  // ICReq DGST bit 1
  uint8_t hpda = 0;                          // host PDU data alignment (0's based dwords)
  std::chrono::milliseconds timeout{10000};  // per wait (ICResp, a completion)
};

// What a C2HTermReq from the controller said (fes 0: none received).
struct TermInfo {
  uint16_t fes = 0;
  uint32_t fei = 0;
};

class TcpQueue {
 public:
  // Opens a TCP connection to `address`:`port` (IPv4 or IPv6 literal) and exchanges ICReq/ICResp,
  // checking the ICResp as the Linux host does (type, PLEN, PFV, digests mirrored, CPDA,
  // MAXH2CDATA).
  static Result<std::unique_ptr<TcpQueue>> Open(const std::string& address, uint16_t port,
                                                const TcpQueueOptions& options);
  // Opens the TCP connection only (no ICReq): for tests that speak raw PDUs.
  static Result<std::unique_ptr<TcpQueue>> OpenRaw(const std::string& address, uint16_t port,
                                                   const TcpQueueOptions& options);
  ~TcpQueue();
  TcpQueue(const TcpQueue&) = delete;
  TcpQueue& operator=(const TcpQueue&) = delete;

  // Sends ICReq and checks ICResp (done by Open()).
  Result<void> Initialize();

  // Submits a command; the queue assigns the CID and the SGL: `out` (host -> controller) travels
  // in-capsule when it fits the in-capsule limit, otherwise by R2T/H2CData; `in` receives
  // controller -> host data. The buffers must stay valid until the command completes. Returns the
  // CID. Fails when `entries - 1` commands are outstanding or the connection failed. With
  // `send_now` false the capsule is only queued: Flush() (or the next Poll/Wait) sends every queued
  // capsule with one sendmsg, which is how a host batches submissions.
  Result<uint16_t> Submit(Sqe sqe, std::span<const uint8_t> out = {}, std::span<uint8_t> in = {},
                          bool send_now = true);
  // Sends the capsules queued by Submit(..., send_now = false).
  Result<void> Flush();
  // Waits up to `timeout` for PDUs and processes every one that arrived (answering R2Ts, receiving
  // data, recording completions). Returns the number of commands completed. With a zero timeout
  // it makes one non-blocking recv when nothing is buffered (busy polling, as `nvemu perf` does).
  Result<size_t> Poll(std::chrono::milliseconds timeout);
  // Hands every recorded completion to `fn` and frees its CID. Returns how many.
  size_t Reap(const std::function<void(const Cqe&)>& fn);
  // Waits for the completion of `cid` (others are kept for Reap/Wait).
  Result<Cqe> Wait(uint16_t cid);
  // Submit + Wait.
  Result<Cqe> Execute(const Sqe& sqe, std::span<const uint8_t> out = {},
                      std::span<uint8_t> in = {});

  // Queue entries (SQSIZE + 1): at most entries - 1 commands in flight. Default 32.
  void set_entries(uint16_t entries);
  uint16_t entries() const { return entries_; }
  // Largest write sent in-capsule (admin queue: 8 KiB; I/O queues: IOCCSZ * 16 - 64).
  void set_in_capsule_limit(uint32_t bytes) { in_capsule_limit_ = bytes; }
  uint32_t outstanding() const { return outstanding_; }
  uint32_t maxh2cdata() const { return maxh2cdata_; }
  bool header_digest() const { return hdgst_; }
  bool data_digest() const { return ddgst_; }
  // The C2HTermReq the controller sent, if any; and whether the connection is still usable.
  const TermInfo& term() const { return term_; }
  bool failed() const { return failed_; }
  // Counters: R2Ts answered, H2CData PDUs sent, C2HData PDUs received.
  uint64_t r2ts() const { return r2ts_; }
  uint64_t h2c_pdus() const { return h2c_pdus_; }
  uint64_t c2h_pdus() const { return c2h_pdus_; }

  // Raw access for protocol tests: write bytes; read bytes (blocking up to the timeout); true when
  // the peer closed the connection within `timeout`.
  Result<void> SendRaw(const void* data, size_t len);
  Result<size_t> RecvRaw(void* data, size_t len, std::chrono::milliseconds timeout);
  bool WaitClosed(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  struct Command;
  TcpQueue(int fd, const TcpQueueOptions& options);
  // Writes every byte of iov[0..iovcnt) (blocking); modifies the array as it goes.
  Result<void> SendAll(::iovec* iov, size_t iovcnt);
  Result<void> ReadExact(void* dst, size_t len, std::chrono::steady_clock::time_point deadline);
  Result<bool> FillNonBlocking();
  Result<bool> ProcessOnePdu(std::chrono::steady_clock::time_point deadline);
  Result<void> OnR2T(const uint8_t* hdr);
  Result<void> OnC2HData(const uint8_t* hdr, uint32_t flags, uint32_t pad, uint32_t data_len);
  Result<void> Fail(std::string why);

  int fd_;
  TcpQueueOptions options_;
  bool hdgst_ = false;
  bool ddgst_ = false;
  uint8_t cpda_ = 0;
  uint32_t maxh2cdata_ = 0;
  bool initialized_ = false;
  bool failed_ = false;
  TermInfo term_;
  uint16_t entries_ = 32;
  uint32_t in_capsule_limit_ = 8192;
  uint32_t outstanding_ = 0;
  std::vector<Command> cmds_;  // by CID
  std::vector<uint16_t> done_;
  std::vector<::iovec> pending_;  // queued capsules (Submit with send_now = false)
  std::vector<uint8_t> rbuf_;
  size_t rhead_ = 0;
  size_t rtail_ = 0;
  uint64_t r2ts_ = 0;
  uint64_t h2c_pdus_ = 0;
  uint64_t c2h_pdus_ = 0;
};

struct TcpDriverOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 4420;
  std::string subnqn = "nqn.2026-11.dev.nvemu:subsys0";
  std::string hostnqn = "nqn.2014-08.org.nvmexpress:uuid:6e76656d-7500-4000-8000-000000000001";
  std::array<uint8_t, 16> hostid = {0x6e, 0x76, 0x65, 0x6d, 0x75, 0x00, 0x40, 0x00,
                                    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  bool header_digest = false;
  bool data_digest = false;
  uint32_t kato_ms = 0;          // Connect KATO (0 = no keep-alive timer)
  uint16_t admin_entries = 32;   // admin queue SQSIZE + 1
  bool disable_sq_flow = false;  // Connect CATTR bit 2 (C2HData SUCCESS, no CapsuleResp)
  std::chrono::milliseconds timeout{10000};
};

class TcpDriver {
 public:
  // Opens the admin queue and sends Connect (QID 0, CNTLID FFFFh). The controller is not enabled;
  // the error message carries the NVMe status of a refused Connect (see connect_status()).
  static Result<std::unique_ptr<TcpDriver>> Connect(const TcpDriverOptions& options);
  ~TcpDriver();

  // Connect + Enable + Identify Controller (checked against the Connect CNTLID).
  static Result<std::unique_ptr<TcpDriver>> ConnectAndEnable(const TcpDriverOptions& options);

  // NVMe Base 2.0, 6.5 / 6.6.
  Result<uint64_t> PropertyGet(uint32_t offset, bool eight_bytes = false);
  Result<Cqe> PropertySet(uint32_t offset, uint64_t value, bool eight_bytes = false);
  // CC: IOSQES 6, IOCQES 4, EN 1; waits for CSTS.RDY within CAP.TO.
  Result<void> Enable();
  // CC.EN 0, waits for RDY 0.
  Result<void> Disable();
  // CC.SHN normal, waits for CSTS.SHST complete.
  Result<void> Shutdown();

  Result<Cqe> Admin(const Sqe& sqe, std::span<const uint8_t> out = {}, std::span<uint8_t> in = {});
  Result<nvme_id_ctrl> IdentifyController();
  Result<nvme_id_ns> IdentifyNamespace(uint32_t nsid);
  Result<uint32_t> SetNumberOfQueues(uint16_t count);
  Result<Cqe> KeepAlive();
  // Get Log Page `lid` (NUMD from `len`, LPO `offset`).
  Result<std::vector<uint8_t>> GetLogPage(uint8_t lid, uint32_t len, uint64_t offset = 0);
  // Reads the whole Discovery Log Page (header, then all records) and returns the entries.
  Result<std::vector<nvmf_disc_log_entry>> DiscoveryEntries();

  // Opens a new connection for I/O queue `qid` with `entries` entries and Connects it.
  Result<TcpQueue*> ConnectIoQueue(uint16_t qid, uint16_t entries);
  TcpQueue* io_queue(uint16_t qid);
  // Closes I/O queue `qid`'s connection.
  void CloseIoQueue(uint16_t qid);

  uint16_t cntlid() const { return cntlid_; }
  TcpQueue& admin() { return *admin_; }
  const TcpDriverOptions& options() const { return options_; }
  // Status of the last refused Connect (admin or I/O) and its DW0 (IATTR/IPO).
  Status connect_status() const { return connect_status_; }
  uint32_t connect_dw0() const { return connect_dw0_; }

  // Command builders.
  static Sqe ReadWriteSqe(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb);
  static Sqe ConnectSqe(uint16_t qid, uint16_t sqsize, uint8_t cattr, uint32_t kato);
  static std::vector<uint8_t> ConnectData(const TcpDriverOptions& options, uint16_t cntlid);

 private:
  explicit TcpDriver(const TcpDriverOptions& options) : options_(options) {}
  Result<void> WaitCsts(uint32_t mask, uint32_t value, const char* what);

  TcpDriverOptions options_;
  std::unique_ptr<TcpQueue> admin_;
  std::vector<std::unique_ptr<TcpQueue>> io_;
  uint16_t cntlid_ = 0;
  uint32_t ioccsz_bytes_ = 0;
  Status connect_status_;
  uint32_t connect_dw0_ = 0;
};

// Connects an admin queue to `subnqn` on `queue` (already initialized) with CNTLID FFFFh, or to
// `cntlid` for an I/O queue. Returns the completion (the caller checks the status).
Result<Cqe> FabricsConnect(TcpQueue& queue, const TcpDriverOptions& options, uint16_t qid,
                           uint16_t sqsize, uint16_t cntlid);

}  // namespace nvemu::host
