/*  endpoint.c: see endpoint.h.                                             */
#include "endpoint.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

//  True if host (a bracketed IPv6 address, or not) is a loopback address.
static bool
s_loopback_host (const char *host, size_t length)
{
    char text[INET6_ADDRSTRLEN + 2];
    if (length == 0 || length >= sizeof text)
        return false;
    if (host[0] == '[') {
        if (length < 3 || host[length - 1] != ']')
            return false;
        memcpy (text, host + 1, length - 2);
        text[length - 2] = 0;
        struct in6_addr address;
        if (inet_pton (AF_INET6, text, &address) != 1)
            return false;
        if (IN6_IS_ADDR_LOOPBACK (&address))
            return true;
        return IN6_IS_ADDR_V4MAPPED (&address) && address.s6_addr[12] == 127;
    }
    memcpy (text, host, length);
    text[length] = 0;
    if (strcasecmp (text, "localhost") == 0)
        return true;
    //  inet_pton takes only the full dotted quad; "127.1" is refused.
    struct in_addr address;
    if (inet_pton (AF_INET, text, &address) != 1)
        return false;
    return (ntohl (address.s_addr) >> 24) == 127;
}

bool
endpoint_is_loopback (const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp (endpoint, "inproc://", 9) == 0)
        return endpoint[9] != 0;
    if (strncmp (endpoint, "ipc://", 6) == 0)
        return endpoint[6] != 0;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    //  "source;destination" is a connect-only form; a bind has none.
    if (strchr (host, ';'))
        return false;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host || colon[1] == 0)
        return false;
    const char *port = colon + 1;
    if (strcmp (port, "*") != 0 && strspn (port, "0123456789") != strlen (port))
        return false;
    return s_loopback_host (host, (size_t) (colon - host));
}

bool
endpoint_address_is_loopback (const char *address)
{
    if (!address || !*address)
        return false;
    //  A numeric address only: "localhost" here would have been resolved
    //  by libzmq, so a name means something else gave it.
    if (!strchr (address, ':')) {
        if (strspn (address, "0123456789.") != strlen (address))
            return false;
        return s_loopback_host (address, strlen (address));
    }
    char bracketed[INET6_ADDRSTRLEN + 2];
    size_t length = strlen (address);
    if (length + 2 >= sizeof bracketed)
        return false;
    snprintf (bracketed, sizeof bracketed, "[%s]", address);
    return s_loopback_host (bracketed, length + 2);
}

bool
endpoint_address_is_own (const char *address)
{
    if (endpoint_address_is_loopback (address))
        return true;
    if (!address || !*address)
        return false;
    //  As an IPv4 address if it is one, mapped or not.
    struct in_addr v4;
    struct in6_addr v6;
    bool is_v4 = inet_pton (AF_INET, address, &v4) == 1;
    if (!is_v4) {
        if (inet_pton (AF_INET6, address, &v6) != 1)
            return false;
        if (IN6_IS_ADDR_V4MAPPED (&v6)) {
            memcpy (&v4.s_addr, v6.s6_addr + 12, 4);
            is_v4 = true;
        }
    }
    struct ifaddrs *list = NULL;
    if (getifaddrs (&list) != 0)
        return false;
    bool own = false;
    for (struct ifaddrs *item = list; item && !own; item = item->ifa_next) {
        const struct sockaddr *sa = item->ifa_addr;
        if (!sa)
            continue;
        if (is_v4 && sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) sa;
            own = in->sin_addr.s_addr == v4.s_addr;
        }
        else
        if (!is_v4 && sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) sa;
            own = memcmp (&in6->sin6_addr, &v6, sizeof v6) == 0;
        }
    }
    freeifaddrs (list);
    return own;
}
