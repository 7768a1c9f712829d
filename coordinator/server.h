/*  server.h: satcheld's socket loop.

    One ROUTER socket and one loop. The loop waits on the socket and on a
    signalfd (signals are blocked and read as events, so SIGHUP cannot end
    the loop behind our back). When requests are waiting it takes up to
    max_group of them, handles them inside one SQLite transaction, commits,
    and only then sends their replies: durable before visible, with one
    commit shared by requests that arrived together (group commit).

    With CurveZMQ the socket is a CURVE server, the loop also answers the
    ZAP requests of handshakes (zap.h), and each request is handled with
    the permissions of the key that sent it (access.h).                    */
#ifndef SATCHEL_SERVER_H
#define SATCHEL_SERVER_H

#include "log.h"
#include "requests.h"
#include "retention.h"

#include <stddef.h>

typedef struct _server_config_t server_config_t;

//  What SIGHUP asks for: the settings afresh in *next (its strings valid
//  until the next call) and the log level. Returns 0, or -1 with why (the
//  running settings then stay).
typedef int (server_reload_fn) (void *arg, server_config_t *next, log_level_t *level,
                                char *why, size_t why_size);

struct _server_config_t {
    const char *bind;            //  ZeroMQ endpoint, e.g. tcp://127.0.0.1:7450
    const char *db_path;         //  SQLite database file
    const char *ready_file;      //  if set, the bound endpoint is written here once serving
    size_t max_group;            //  most requests in one transaction
    const char *curve_secret;    //  satcheld's secret certificate: CurveZMQ on, NULL: off
    const char *clients;         //  folder of authorized agent public keys (CurveZMQ)
    double max_rate;             //  requests per second per connection, 0: no limit
    requests_config_t requests;  //  limits and scheduling policy
    retention_config_t retention;  //  how long history and builds are kept
    const char *metrics_file;    //  Prometheus text file to keep current, or NULL: none
    int64_t metrics_interval_ms; //  how often it is rewritten
    server_reload_fn *reload;    //  SIGHUP's, or NULL: SIGHUP is ignored
    void *reload_arg;            //  its argument
};

//  Requests a second one connection may send, on average and at once; an
//  agent sends a few. Past it a request is answered "busy" unread.
#define SERVER_DEFAULT_MAX_RATE 1000

//  How often the metrics file is rewritten by default: node_exporter reads
//  it at each scrape, every 15 s or so.
#define SERVER_DEFAULT_METRICS_MS 5000

void server_config_default (server_config_t *config);

typedef struct _server_t server_t;

//  Block the signals the loop reads. Call first thing in main(), before
//  any thread exists (ZeroMQ's I/O threads inherit the mask). Returns 0 or -1.
int server_block_signals (void);

//  Open the database, load the keys (CurveZMQ), bind the socket. Returns
//  NULL (and logs why) on error.
server_t *server_new (const server_config_t *config);

//  Run until SIGINT or SIGTERM. Returns 0 on a clean stop, -1 on a fatal error.
int server_run (server_t *self);

//  Close the socket and the database cleanly. Safe on NULL.
void server_destroy (server_t **self_p);

#endif
