/*
 * PROXY protocol v1 (text) and v2 (binary) headers, as sent by HAProxy
 * and other L4 balancers ahead of the client's bytes. Pure: bytes in,
 * addresses out; no I/O, no globals.
 */
#ifndef OCSPGATE_PROXY_PROTOCOL_H
#define OCSPGATE_PROXY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PROXY_PROTOCOL_V1_MAX 107  /* the spec's longest v1 line */
#define PROXY_PROTOCOL_V2_MAX 4096 /* 16-byte header + TLVs we accept */

struct proxy_header {
	int version; /* 1 or 2 */
	bool local;  /* v2 LOCAL or v1 UNKNOWN: no client address given;
	              * the connection's own addresses apply */
	struct sockaddr_storage src; /* the real client */
	socklen_t src_len;
	struct sockaddr_storage dst; /* where the client connected */
	socklen_t dst_len;
};

/*
 * Parses a PROXY header at the start of <buf> (<len> bytes so far).
 * Returns the header's length in bytes (> 0) when complete, 0 when more
 * bytes are needed (never when len is already at the maximum for the
 * version), or -1 with *detail set (static text) when the bytes are not
 * a valid header: wrong signature, bad syntax, unsupported version,
 * command, family or protocol, address lengths that do not fit, a v1
 * line over 107 bytes, a v2 header over PROXY_PROTOCOL_V2_MAX.
 * Only TCP over IPv4 or IPv6 gives addresses; v2 LOCAL and v1 UNKNOWN
 * set h->local. TLVs are skipped (but must fit in the length).
 */
int proxy_protocol_parse(const unsigned char *buf, size_t len,
    struct proxy_header *h, const char **detail);

#endif
