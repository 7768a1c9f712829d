/*  admin_client.c: see admin_client.h.                                   */
#include "admin_client.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

void
admin_target_init (admin_target_t *self)
{
    self->endpoint = s_env ("SATCHEL_COORDINATOR");
    self->server_key = s_env ("SATCHEL_SERVER_KEY");
    self->client_cert = s_env ("SATCHEL_CLIENT_CERT");
    self->timeout = NULL;
    self->timeout_ms = 5000;
}

int
admin_target_option (admin_target_t *self, int opt, const char *arg, const char *command,
                     const char *bad_flag)
{
    switch (opt) {
        case ADMIN_OPT_COORDINATOR: self->endpoint = arg; return 1;
        case ADMIN_OPT_SERVER_KEY: self->server_key = arg; return 1;
        case ADMIN_OPT_CLIENT_CERT: self->client_cert = arg; return 1;
        case ADMIN_OPT_TIMEOUT: self->timeout = arg; return 1;
        case ':':
            fprintf (stderr, "%s: option %s needs a value\n", command, bad_flag);
            return 2;
        case '?':
            fprintf (stderr, "%s: unknown option '%s' (try --help)\n", command, bad_flag);
            return 2;
        default:
            return 0;
    }
}

int
admin_target_check (admin_target_t *self, const char *command)
{
    if (!self->server_key != !self->client_cert) {
        fprintf (stderr, "%s: CurveZMQ needs both --server-key FILE (SATCHEL_SERVER_KEY) and "
                 "--client-cert FILE (SATCHEL_CLIENT_CERT)\n", command);
        return 2;
    }
    if (self->timeout
    &&  util_parse_seconds_ms (self->timeout, 10, 3600 * 1000, &self->timeout_ms) != 0) {
        fprintf (stderr, "%s: the timeout must be seconds from 0.01 to 3600\n", command);
        return 2;
    }
    if (!self->endpoint)
        self->endpoint = "tcp://127.0.0.1:7450";
    return 0;
}

client_t *
admin_client_new (const admin_target_t *self)
{
    client_config_t config = {
        .endpoint = self->endpoint, .timeout_ms = self->timeout_ms, .retries = 2,
        .backoff_ms = 250, .interrupted = NULL
    };
    client_t *client = client_new (&config);
    char why[1024] = "";
    if (self->server_key
    &&  client_set_curve (client, self->server_key, self->client_cert, why, sizeof why) != 0) {
        log_say ("error: %s", why);
        client_destroy (&client);
    }
    return client;
}

int
admin_client_call (client_t *client, const admin_target_t *target, const proto_msg_t *request,
                   proto_type_t want, proto_msg_t **reply)
{
    char why[1024] = "";
    *reply = NULL;
    client_result_t result = client_request (client, request, reply, why, sizeof why);
    if (result == CLIENT_REFUSED)
        log_say ("error: %s", why);
    else if (result != CLIENT_OK)
        log_say ("error: cannot reach satcheld at %s: %s", target->endpoint, why);
    else if ((*reply)->type == PROTO_ERROR)
        log_say ("error: satcheld refused: %s", (*reply)->message);
    else if ((*reply)->type != want)
        log_say ("error: satcheld answered %s with %s", proto_type_name (request->type),
                 proto_type_name ((*reply)->type));
    else
        return 0;
    proto_msg_destroy (reply);
    return 1;
}
