// Admin command set (NVMe Base 2.0, chapter 5): a table indexed by opcode binds each command to its
// handler; one handler per file group (identify.cc, features.cc, queues.cc).
#pragma once

#include "nvemu/status.h"
#include "spec/request.h"

namespace nvemu {

class Controller;

// Executes an admin command on the admin reactor.
Status ExecuteAdminCommand(Controller& ctrl, Request& req);

// Handlers (one per command), declared here for the dispatch table.
Status AdminIdentify(Controller& ctrl, Request& req);      // identify.cc
Status AdminSetFeatures(Controller& ctrl, Request& req);   // features.cc
Status AdminGetFeatures(Controller& ctrl, Request& req);   // features.cc
Status AdminCreateIoCq(Controller& ctrl, Request& req);    // queues.cc
Status AdminCreateIoSq(Controller& ctrl, Request& req);    // queues.cc
Status AdminDeleteIoSq(Controller& ctrl, Request& req);    // queues.cc
Status AdminDeleteIoCq(Controller& ctrl, Request& req);    // queues.cc

}  // namespace nvemu
