/*
 * Listening sockets: bind every configured address, accept into
 * sessions, back off on EMFILE/ENFILE instead of spinning.
 */
#ifndef OCSPGATE_LISTENER_H
#define OCSPGATE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "ocspgate/config.h"

struct server;
struct listener;

/*
 * Binds and listens on <la>. Returns the socket, or -1 with a message in
 * <err>. Workers accept on descriptors of the one socket.
 */
int listener_bind(const struct listen_addr *la, char *err, size_t errlen);

/*
 * Accepts on the listening socket <fd> (owned from now on, closed on
 * failure) for <srv>: <la> is an entry of <cfg> (a reference is taken).
 * Returns the listener, or NULL with a message in <err>.
 */
struct listener *listener_new(struct server *srv, struct config *cfg,
    const struct listen_addr *la, int fd, char *err, size_t errlen);

/* The bound address, e.g. "127.0.0.1:3128" (the real port for port 0). */
const char *listener_name(const struct listener *l);

/*
 * Where an accepted connection <fd> was going before the kernel sent it
 * to us: SO_ORIGINAL_DST (IP6T_SO_ORIGINAL_DST) after a REDIRECT, the
 * socket's own address under TPROXY unless that is the listener's own
 * address <bound>. Returns 1 with *dst filled, 0 when
 * the connection was not intercepted (or <mode> is LISTEN_EXPLICIT), -1
 * on a system error.
 */
int listener_original_dst(evutil_socket_t fd, enum listen_transparent mode,
    const struct sockaddr_storage *bound, struct sockaddr_storage *dst);

/* This listener's entry of the config it serves. */
const struct listen_addr *listener_config(const struct listener *l);

/* After a reload, serve <la> of <cfg> (same address and transparency). */
void listener_rebind(
    struct listener *l, struct config *cfg, const struct listen_addr *la);

/* The address as written in the config, e.g. "127.0.0.1:0". */
const char *listener_text(const struct listener *l);

/* Stops (or resumes) accepting while max_connections are open. */
void listener_pause(struct listener *l, bool pause);

/* Stops accepting; connections already accepted go on. */
void listener_free(struct listener *l);

#endif
