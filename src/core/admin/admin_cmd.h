// Admin command set (NVMe Base 2.0, chapter 5): a table indexed by opcode binds each command to its
// handler and its Commands Supported and Effects entry; one file per command group.
#pragma once

#include <cstdint>

#include "nvemu/status.h"
#include "spec/request.h"

namespace nvemu {

class Controller;

// Executes an admin command on the admin reactor.
Status ExecuteAdminCommand(Controller& ctrl, Request& req);

// Commands Supported and Effects entry of admin opcode `opc` (NVMe Base 2.0, 5.16.1.6, Figure
// 210): 0 when the command is not supported.
uint32_t AdminCommandEffects(uint8_t opc);

// Handlers (one per command), declared here for the dispatch table.
Status AdminIdentify(Controller& ctrl, Request& req);             // identify.cc
Status AdminSetFeatures(Controller& ctrl, Request& req);          // features.cc
Status AdminGetFeatures(Controller& ctrl, Request& req);          // features.cc
Status AdminCreateIoCq(Controller& ctrl, Request& req);           // queues.cc
Status AdminCreateIoSq(Controller& ctrl, Request& req);           // queues.cc
Status AdminDeleteIoSq(Controller& ctrl, Request& req);           // queues.cc
Status AdminDeleteIoCq(Controller& ctrl, Request& req);           // queues.cc
Status AdminGetLogPage(Controller& ctrl, Request& req);           // log_page.cc
Status AdminAsyncEventRequest(Controller& ctrl, Request& req);    // aer.cc
Status AdminAbort(Controller& ctrl, Request& req);                // abort.cc
Status AdminFirmwareDownload(Controller& ctrl, Request& req);     // firmware.cc
Status AdminFirmwareCommit(Controller& ctrl, Request& req);       // firmware.cc
Status AdminFormatNvm(Controller& ctrl, Request& req);            // format.cc
Status AdminNamespaceManagement(Controller& ctrl, Request& req);  // ns_mgmt.cc
Status AdminNamespaceAttachment(Controller& ctrl, Request& req);  // ns_mgmt.cc
Status AdminDeviceSelfTest(Controller& ctrl, Request& req);       // self_test.cc
Status AdminKeepAlive(Controller& ctrl, Request& req);            // keep_alive.cc
Status AdminDoorbellBufferConfig(Controller& ctrl, Request& req);  // dbbuf.cc

// Invalid Field in Command, recording the bad field for the Error Information log: byte offset of
// the SQE field (e.g. offsetof(Sqe, cdw10)) plus the byte within it, and the bit.
Status InvalidFieldAt(Request& req, uint16_t byte, uint8_t bit = 0);

}  // namespace nvemu
