/*
 * What the runtime adds to libevent's bufferevents.
 */
#ifndef OCSPGATE_BEV_H
#define OCSPGATE_BEV_H

struct bufferevent;
struct evbuffer;

/*
 * Sends <data> (drained) on <bev>'s socket at once, as far as it takes
 * it, when nothing is queued before it; the rest goes to the output
 * buffer for libevent to send. Saves the write event (two epoll_ctl
 * calls) on the usual small message.
 */
void bev_send(struct bufferevent *bev, struct evbuffer *data);

#endif
