/*
 * Listening sockets: bind every configured address, accept into
 * sessions, back off on EMFILE/ENFILE instead of spinning.
 */
#ifndef OCSPGATE_LISTENER_H
#define OCSPGATE_LISTENER_H

#include <stddef.h>

struct server;
struct listen_addr;
struct listener;

/*
 * Binds and listens on <la>. Returns the listener, or NULL with a
 * message in <err>.
 */
struct listener *listener_new(
    struct server *srv, const struct listen_addr *la, char *err, size_t errlen);

/* The bound address, e.g. "127.0.0.1:3128" (the real port for port 0). */
const char *listener_name(const struct listener *l);

/* The address as written in the config, e.g. "127.0.0.1:0". */
const char *listener_text(const struct listener *l);

/* Stops accepting; connections already accepted go on. */
void listener_free(struct listener *l);

#endif
