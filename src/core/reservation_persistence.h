// Persist Through Power Loss of reservations (NVMe Base 2.0, 8.19.x; Reservation Register CPTPL,
// Reservation Persistence feature 83h): connects each namespace's Reservations (nvm/
// reservations.h) to the subsystem's state file (core/state_file.h).
//
// What is kept: for a namespace whose PTPL state is on, its registrants (host and key), the holder,
// the reservation type and the generation, written after every change; for one whose PTPL is off,
// only PTPL and the saved value of feature 83h (registrants are released at a power loss). At
// power-on a namespace gets the whole state back when PTPL was on, else an empty one; its PTPL
// state is then the saved value of feature 83h if one was saved, else the PTPL it had.
//
// Threading: the listener runs on whichever thread changed the reservations (an I/O reactor for
// Reservation Register/Acquire/Release, the admin reactor for Set Features 83h) and writes the
// state file there (a slow path: reservation changes are rare). Nothing happens without a state
// file (RAM-only subsystems).
#pragma once

#include <cstdint>

#include "core/state_file.h"
#include "nvm/namespace.h"

namespace nvemu {

enum class ReservationBinding {
  kRestore,  // power-on: load the saved state, then persist changes
  kNew,      // a namespace created now: forget whatever an older namespace of the NSID left
  kKeep,     // the namespace was rebuilt (Format NVM) with its state imported: persist changes
};

void BindReservationPersistence(StateStore& store, Namespace& ns, ReservationBinding how);

// Drops the saved reservations of a deleted namespace.
void ForgetReservations(StateStore& store, uint32_t nsid);

}  // namespace nvemu
