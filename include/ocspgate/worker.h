/*
 * A worker: one thread running one event loop and the server on it.
 * The main thread creates it, starts it, and sends it reloads and the
 * order to drain; everything else it does on its own.
 */
#ifndef OCSPGATE_WORKER_H
#define OCSPGATE_WORKER_H

#include <stddef.h>

struct config;
struct event_sink;
struct server;
struct shared;
struct worker;

/*
 * Sets up worker <id> with <cfg>, writing events to <sink> and accepting
 * on <fds> (one per cfg->listen entry; taken over, as is the array),
 * sharing <shared> with the other workers. Returns NULL with a message in
 * <err>.
 */
struct worker *worker_new(struct shared *shared, size_t id, struct config *cfg,
    struct event_sink *sink, int *fds, char *err, size_t errlen);

/* Starts its thread; <done_fd> gets a byte when the thread ends. */
int worker_start(struct worker *w, int done_fd);

/*
 * Asks the worker to switch to <cfg> and <sink> (references are taken)
 * with <fds> (taken over, as is the array). Errors are logged; the
 * worker then keeps its configuration.
 */
void worker_reload(
    struct worker *w, struct config *cfg, struct event_sink *sink, int *fds);

/* Asks the worker to stop accepting and finish within <timeout_sec>. */
void worker_drain(struct worker *w, unsigned timeout_sec);

/* Waits for the thread to end (if it was started). */
void worker_join(struct worker *w);

/* The worker's server: its metrics may be read from any thread. */
struct server *worker_server(struct worker *w);

/* Frees it all; the thread must have ended. Takes NULL. */
void worker_free(struct worker *w);

#endif
