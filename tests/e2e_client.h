/*  e2e_client.h: for end-to-end tests that speak the wire protocol by
    hand, or look into satcheld's database: a REQ client that sends one
    message and decodes the reply, and read-only queries. Failures fail
    the calling cmocka test.                                                */
#ifndef SATCHEL_E2E_CLIENT_H
#define SATCHEL_E2E_CLIENT_H

#include "proto.h"

#include <czmq.h>
#include <stdint.h>

//  A REQ socket connected to endpoint, replies awaited at most 10 s.
zsock_t *e2e_connect (const char *endpoint);

//  Encode msg, send it, and return the decoded reply.
proto_msg_t *e2e_call (zsock_t *socket, const proto_msg_t *msg);

//  The two halves of e2e_call: send msg; the decoded reply if one comes
//  within timeout_ms, else NULL.
void e2e_send (zsock_t *socket, const proto_msg_t *msg);
proto_msg_t *e2e_reply_within (zsock_t *socket, long timeout_ms);

//  A join of suite/build as node index of total, for the sorted unit list.
proto_msg_t *e2e_join (const char *attempt, uint64_t req, const char *suite, const char *build,
                       uint32_t index, uint32_t total, const char *const *units, size_t count);

//  A next reporting batch (all units exit status, 1 ms each) under lease.
proto_msg_t *e2e_report (const char *attempt, uint64_t req, uint32_t batch, uint64_t lease,
                         size_t unit_count, int32_t exit_code);

//  First column of the first row of sql, as an integer (the database is
//  opened read-only, with a busy timeout, for this one query).
int64_t e2e_db_int (const char *db_path, const char *sql);

//  As e2e_db_int, for a database that may not be readable yet (satcheld
//  starting or restarting): returns 0 with *value, or -1 without failing.
int e2e_db_try_int (const char *db_path, const char *sql, int64_t *value);

//  The rows of sql's first column joined with '\n' (malloc'd; "" if none).
char *e2e_db_lines (const char *db_path, const char *sql);

#endif
