/*
 * Dropping root once the listeners are bound and the event log is open.
 */
#ifndef OCSPGATE_PRIVILEGES_H
#define OCSPGATE_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Switches to <user> (and <group>, else the user's primary group), both
 * names or numbers, keeping only CAP_NET_BIND_SERVICE (so a reload can
 * bind new low ports) and, with <keep_net_admin>, CAP_NET_ADMIN (SO_MARK
 * on upstream sockets, TPROXY listeners). Does nothing when both are
 * NULL. Returns 0, or -1 with a message in <err>.
 */
int privileges_drop(const char *user, const char *group, bool keep_net_admin,
    char *err, size_t errlen);

#endif
