/*
 * Bufferevent helpers: writing without waiting for the write event.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "ocspgate/bev.h"

void
bev_send(struct bufferevent *bev, struct evbuffer *data)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (evbuffer_get_length(out) == 0 && fd != -1) {
		while (evbuffer_get_length(data) > 0 &&
		    evbuffer_write(data, fd) > 0)
			continue;
	}
	if (evbuffer_get_length(data) > 0)
		evbuffer_add_buffer(out, data);
}
