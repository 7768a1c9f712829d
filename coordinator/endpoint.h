/*  endpoint.h: what a bind endpoint exposes.

    Without CurveZMQ satcheld binds only endpoints that no other machine
    can reach, unless told --insecure. Loopback here means:
        tcp://127.x.y.z:PORT   any address of 127.0.0.0/8, dotted quad
        tcp://[::1]:PORT       also the IPv4-mapped [::ffff:127.x.y.z]
        tcp://localhost:PORT   (libzmq 4.3 cannot bind a host name, so
                               satcheld then fails to bind; it is listed
                               because it names nothing but this machine)
        ipc://PATH             a Unix socket: this machine, guarded by the
                               file's permissions
        inproc://NAME          this process
    Everything else is not: a wildcard host ("*", or tcp://0.0.0.0:PORT),
    another address, an interface name (even tcp://lo:PORT), shorthand
    such as tcp://127.1:PORT, any other transport. Unsure means no: the
    cost of a false "no" is one flag, of a false "yes" an open daemon.     */
#ifndef SATCHEL_ENDPOINT_H
#define SATCHEL_ENDPOINT_H

#include <stdbool.h>

//  True if endpoint is loopback as above.
bool endpoint_is_loopback (const char *endpoint);

//  True if address, a peer's numeric IP address as libzmq gives it in a
//  message's "Peer-Address" property ("127.0.0.1", "::1",
//  "::ffff:127.0.0.1"), is a loopback address as above. Host names
//  (even "localhost"), brackets, ports, NULL and "" are not.
bool endpoint_address_is_loopback (const char *address);

//  True if address (numeric, as above) is one of this machine's own: a
//  loopback address, or an address of one of its interfaces now
//  (getifaddrs(3); an IPv4-mapped IPv6 address counts as its IPv4
//  address). A connection from such an address comes from this machine,
//  whichever address it used to reach satcheld. False on any doubt.
bool endpoint_address_is_own (const char *address);

#endif
