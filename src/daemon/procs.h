/* SPDX-License-Identifier: MIT */
/*
 * The remote procedures coved serves (remote_protocol.x, REMOTE_PROGRAM
 * 0x20008086): what virsh 9.0 calls for connect, list, dominfo, define,
 * start, console, suspend, resume, shutdown, destroy and undefine. The server
 * priv handed to them is the struct domains.
 */
#ifndef COVE_DAEMON_PROCS_H
#define COVE_DAEMON_PROCS_H

#include <stddef.h>

#include "daemon/rpc.h"

extern const struct rpc_proc coved_procs[];
extern const size_t coved_nprocs;

#endif
