/*
 * PROXY protocol v1 and v2 headers, parsed incrementally: "need more" is
 * answered only while the bytes seen can still begin a valid header, so
 * a peer that sends anything else is refused at its first wrong byte.
 * Pure: no I/O, no logging, no globals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "ocspgate/proxy_protocol.h"

#define PROXY_PROTOCOL_V1_PREFIX      "PROXY "
#define PROXY_PROTOCOL_V1_PREFIX_LEN  (sizeof(PROXY_PROTOCOL_V1_PREFIX) - 1)
#define PROXY_PROTOCOL_V1_PORT_DIGITS 5  /* "65535" */
#define PROXY_PROTOCOL_V1_IP4_CHARS   15 /* "255.255.255.255" */
#define PROXY_PROTOCOL_V1_IP6_CHARS   45 /* INET6_ADDRSTRLEN - 1 */

#define PROXY_PROTOCOL_V2_VER_CMD    12 /* offsets after the signature */
#define PROXY_PROTOCOL_V2_FAM        13
#define PROXY_PROTOCOL_V2_LEN        14 /* big-endian length of the rest */
#define PROXY_PROTOCOL_V2_HEADER_LEN 16 /* signature, ver_cmd, fam, len */
#define PROXY_PROTOCOL_V2_IP4_LEN    12 /* two IPv4 addresses, two ports */
#define PROXY_PROTOCOL_V2_IP6_LEN    36 /* two IPv6 addresses, two ports */
#define PROXY_PROTOCOL_V2_TLV_HEADER 3  /* type, 16-bit length */

#define PROXY_PROTOCOL_V2_CMD_LOCAL  0x0
#define PROXY_PROTOCOL_V2_CMD_PROXY  0x1
#define PROXY_PROTOCOL_V2_FAM_UNSPEC 0x00
#define PROXY_PROTOCOL_V2_FAM_TCP4   0x11
#define PROXY_PROTOCOL_V2_FAM_TCP6   0x21

static const unsigned char proxy_protocol_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/*
 * Endings tried after an incomplete v1 address to learn whether it can
 * still become a valid one. Whatever the address has so far, one of
 * these completes it if anything does: "" or "::" after hex digits,
 * ":" or "0" after a lone colon, "::" for nothing yet, and the dotted
 * endings inside an IPv4 address (alone or at the end of an IPv6 one).
 */
static const char *const proxy_protocol_v1_endings[] = {
    "",
    "::",
    ":",
    "0",
    ".0",
    ".0.0",
    ".0.0.0",
    "0.0",
    "0.0.0",
    "0.0.0.0",
};

/* The fields of a v1 TCP4 or TCP6 line, in order after the protocol. */
enum proxy_protocol_v1_field {
	PROXY_PROTOCOL_V1_SRC = 0,
	PROXY_PROTOCOL_V1_DST,
	PROXY_PROTOCOL_V1_SPORT,
	PROXY_PROTOCOL_V1_DPORT,
	PROXY_PROTOCOL_V1_NFIELDS
};

static int
proxy_protocol_fail(const char **detail, const char *why)
{
	if (detail != NULL)
		*detail = why;
	return -1;
}

/* True when the <n> bytes at <p> begin (or are all of) <word>. */
static bool
proxy_protocol_is_prefix(const unsigned char *p, size_t n, const char *word)
{
	size_t wlen = strlen(word);

	return n <= wlen && memcmp(p, word, n) == 0;
}

static bool
proxy_protocol_is_word(const unsigned char *p, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(p, word, n) == 0;
}

/*
 * Checks a v1 port of <n> bytes: decimal, no sign, no leading zero, at
 * most 65535. When <partial>, the bytes need only begin such a port.
 * Returns true with *port set (host order) when valid.
 */
static bool
proxy_protocol_v1_port(
    const unsigned char *p, size_t n, bool partial, uint16_t *port)
{
	uint32_t v = 0;

	if (n == 0)
		return partial;
	if (n > PROXY_PROTOCOL_V1_PORT_DIGITS || (p[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	if (v > UINT16_MAX)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * Checks a v1 address of <n> bytes in family <af> with inet_pton(),
 * which accepts only the strict textual forms (dotted quad without
 * leading zeros; RFC 4291 IPv6). When <partial>, the bytes need only
 * begin such an address: some ending from the table must complete it.
 * Returns true with <out> (struct in_addr or in6_addr) set when a
 * complete address is valid.
 */
static bool
proxy_protocol_v1_addr(
    const unsigned char *p, size_t n, int af, bool partial, void *out)
{
	size_t max = af == AF_INET ? PROXY_PROTOCOL_V1_IP4_CHARS
	                           : PROXY_PROTOCOL_V1_IP6_CHARS;
	struct in6_addr scratch;
	char text[PROXY_PROTOCOL_V1_IP6_CHARS + 16];

	if (n > max)
		return false;
	/* inet_pton() stops at a NUL, which must not hide what follows. */
	if (memchr(p, '\0', n) != NULL)
		return false;
	memcpy(text, p, n);
	if (!partial) {
		text[n] = '\0';
		return n > 0 && inet_pton(af, text, out) == 1;
	}
	for (size_t i = 0; i < sizeof(proxy_protocol_v1_endings) /
	         sizeof(proxy_protocol_v1_endings[0]);
	     i++) {
		const char *end = proxy_protocol_v1_endings[i];

		memcpy(text + n, end, strlen(end) + 1);
		if (inet_pton(af, text, &scratch) == 1)
			return true;
	}
	return false;
}

/*
 * Parses a v1 line (buf starts with 'P'). The line is looked at only up
 * to its CR, and only within the 107 bytes allowed; each field is
 * checked as soon as it is known to be complete, and the last one seen
 * so far must at least begin a valid field. Same returns as
 * proxy_protocol_parse().
 */
static int
proxy_protocol_v1(const unsigned char *buf, size_t len, struct proxy_header *h,
    const char **detail)
{
	size_t n = len < PROXY_PROTOCOL_V1_MAX ? len : PROXY_PROTOCOL_V1_MAX;
	size_t eol, pos, end, plen;
	bool complete, last, partial, ok;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&h->dst;
	uint16_t sport = 0, dport = 0;
	int af;

	for (eol = 0; eol < n; eol++) {
		if (buf[eol] == '\n')
			return proxy_protocol_fail(detail, "v1: bare LF");
		if (buf[eol] == '\r')
			break;
	}
	/* Once its CR is seen the line is complete, even before its LF. */
	complete = eol < n;
	if (eol + 1 < n && buf[eol + 1] != '\n')
		return proxy_protocol_fail(detail, "v1: CR not followed by LF");

	/* "PROXY ", compared byte by byte as far as the line goes. */
	plen = eol < PROXY_PROTOCOL_V1_PREFIX_LEN
	    ? eol
	    : PROXY_PROTOCOL_V1_PREFIX_LEN;
	if (!proxy_protocol_is_prefix(buf, plen, PROXY_PROTOCOL_V1_PREFIX))
		return proxy_protocol_fail(detail, "not a PROXY header");
	if (plen < PROXY_PROTOCOL_V1_PREFIX_LEN) {
		if (complete)
			return proxy_protocol_fail(detail, "v1: short line");
		goto more;
	}

	/* The protocol. */
	pos = PROXY_PROTOCOL_V1_PREFIX_LEN;
	for (end = pos; end < eol && buf[end] != ' '; end++)
		continue;
	last = end == eol;
	if (end == pos && !(last && !complete))
		return proxy_protocol_fail(
		    detail, "v1: empty field or double space");
	if (last && !complete) {
		if (!proxy_protocol_is_prefix(buf + pos, end - pos, "TCP4") &&
		    !proxy_protocol_is_prefix(buf + pos, end - pos, "TCP6") &&
		    !proxy_protocol_is_prefix(buf + pos, end - pos, "UNKNOWN"))
			return proxy_protocol_fail(
			    detail, "v1: unsupported protocol");
		goto more;
	}
	if (proxy_protocol_is_word(buf + pos, end - pos, "UNKNOWN")) {
		/* The spec has the rest of the line ignored. */
		if (eol + 1 >= n)
			goto more;
		h->version = 1;
		h->local = true;
		return (int)(eol + 2);
	}
	if (proxy_protocol_is_word(buf + pos, end - pos, "TCP4"))
		af = AF_INET;
	else if (proxy_protocol_is_word(buf + pos, end - pos, "TCP6"))
		af = AF_INET6;
	else
		return proxy_protocol_fail(detail, "v1: unsupported protocol");
	if (last)
		return proxy_protocol_fail(detail, "v1: missing fields");

	/* Addresses and ports, each after exactly one space. */
	for (int f = 0; f < PROXY_PROTOCOL_V1_NFIELDS; f++) {
		pos = end + 1;
		for (end = pos; end < eol && buf[end] != ' '; end++)
			continue;
		last = end == eol;
		partial = last && !complete;
		if (end == pos && !partial)
			return proxy_protocol_fail(
			    detail, "v1: empty field or double space");
		switch (f) {
		case PROXY_PROTOCOL_V1_SRC:
			ok = proxy_protocol_v1_addr(buf + pos, end - pos, af,
			    partial,
			    af == AF_INET ? (void *)&s4->sin_addr
			                  : (void *)&s6->sin6_addr);
			break;
		case PROXY_PROTOCOL_V1_DST:
			ok = proxy_protocol_v1_addr(buf + pos, end - pos, af,
			    partial,
			    af == AF_INET ? (void *)&d4->sin_addr
			                  : (void *)&d6->sin6_addr);
			break;
		case PROXY_PROTOCOL_V1_SPORT:
			ok = proxy_protocol_v1_port(
			    buf + pos, end - pos, partial, &sport);
			break;
		default:
			ok = proxy_protocol_v1_port(
			    buf + pos, end - pos, partial, &dport);
			break;
		}
		if (!ok)
			return proxy_protocol_fail(detail,
			    f < PROXY_PROTOCOL_V1_SPORT
			        ? "v1: bad address for the protocol"
			        : "v1: bad port");
		if (partial)
			goto more;
		if (last && f + 1 < PROXY_PROTOCOL_V1_NFIELDS)
			return proxy_protocol_fail(
			    detail, "v1: missing fields");
		if (!last && f + 1 == PROXY_PROTOCOL_V1_NFIELDS)
			return proxy_protocol_fail(
			    detail, "v1: junk after the destination port");
	}

	if (eol + 1 >= n)
		goto more; /* the LF */
	h->version = 1;
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(sport);
		d4->sin_family = AF_INET;
		d4->sin_port = htons(dport);
		h->src_len = h->dst_len = sizeof(struct sockaddr_in);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(sport);
		d6->sin6_family = AF_INET6;
		d6->sin6_port = htons(dport);
		h->src_len = h->dst_len = sizeof(struct sockaddr_in6);
	}
	return (int)(eol + 2);

more:
	/*
	 * A valid prefix so far; but a line with no CRLF in its first 107
	 * bytes (a CR as the 107th counts: its LF would be the 108th)
	 * never becomes valid.
	 */
	if (n == PROXY_PROTOCOL_V1_MAX)
		return proxy_protocol_fail(
		    detail, "v1: no CRLF within 107 bytes");
	return 0;
}

/*
 * Checks the TLVs at <off>..<total> of a v2 header, as far as the <len>
 * bytes seen allow: each needs its 3-byte header and value inside
 * <total>. Returns false at the first that cannot fit.
 */
static bool
proxy_protocol_v2_tlvs(
    const unsigned char *buf, size_t len, size_t off, size_t total)
{
	while (off < total) {
		if (total - off < PROXY_PROTOCOL_V2_TLV_HEADER)
			return false;
		if (len < off + PROXY_PROTOCOL_V2_TLV_HEADER)
			return true;
		off += PROXY_PROTOCOL_V2_TLV_HEADER +
		    ((size_t)buf[off + 1] << 8 | buf[off + 2]);
		if (off > total)
			return false;
	}
	return true;
}

/*
 * Parses a v2 header (buf starts with CR). Every byte is judged as soon
 * as it is seen: signature, version and command, family, then the
 * length against the family's addresses and PROXY_PROTOCOL_V2_MAX, and
 * the TLVs as they arrive. Same returns as proxy_protocol_parse().
 */
static int
proxy_protocol_v2(const unsigned char *buf, size_t len, struct proxy_header *h,
    const char **detail)
{
	size_t n = len < sizeof(proxy_protocol_v2_sig)
	    ? len
	    : sizeof(proxy_protocol_v2_sig);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&h->dst;
	size_t total, need = 0;
	unsigned cmd, fam = PROXY_PROTOCOL_V2_FAM_UNSPEC;
	const unsigned char *a;

	if (memcmp(buf, proxy_protocol_v2_sig, n) != 0)
		return proxy_protocol_fail(detail, "not a PROXY header");
	if (len < PROXY_PROTOCOL_V2_VER_CMD + 1)
		return 0;
	if ((buf[PROXY_PROTOCOL_V2_VER_CMD] & 0xf0) != 0x20)
		return proxy_protocol_fail(detail, "v2: unsupported version");
	cmd = buf[PROXY_PROTOCOL_V2_VER_CMD] & 0x0f;
	if (cmd != PROXY_PROTOCOL_V2_CMD_LOCAL &&
	    cmd != PROXY_PROTOCOL_V2_CMD_PROXY)
		return proxy_protocol_fail(detail, "v2: unsupported command");
	if (len < PROXY_PROTOCOL_V2_FAM + 1)
		return 0;

	/*
	 * LOCAL (a health check from the balancer itself) ignores the
	 * family and whatever follows; PROXY takes TCP over IPv4 or IPv6,
	 * or UNSPEC, whose addresses the spec has the receiver ignore.
	 */
	if (cmd == PROXY_PROTOCOL_V2_CMD_PROXY) {
		fam = buf[PROXY_PROTOCOL_V2_FAM];
		if (fam == PROXY_PROTOCOL_V2_FAM_TCP4)
			need = PROXY_PROTOCOL_V2_IP4_LEN;
		else if (fam == PROXY_PROTOCOL_V2_FAM_TCP6)
			need = PROXY_PROTOCOL_V2_IP6_LEN;
		else if (fam != PROXY_PROTOCOL_V2_FAM_UNSPEC)
			return proxy_protocol_fail(
			    detail, "v2: unsupported family or protocol");
	}
	if (len < PROXY_PROTOCOL_V2_HEADER_LEN)
		return 0;

	total = PROXY_PROTOCOL_V2_HEADER_LEN +
	    ((size_t)buf[PROXY_PROTOCOL_V2_LEN] << 8 |
	        buf[PROXY_PROTOCOL_V2_LEN + 1]);
	if (total > PROXY_PROTOCOL_V2_MAX)
		return proxy_protocol_fail(detail, "v2: header too long");
	if (total - PROXY_PROTOCOL_V2_HEADER_LEN < need)
		return proxy_protocol_fail(
		    detail, "v2: length too short for the addresses");
	if (need > 0 &&
	    !proxy_protocol_v2_tlvs(
	        buf, len, PROXY_PROTOCOL_V2_HEADER_LEN + need, total))
		return proxy_protocol_fail(
		    detail, "v2: TLV overruns the header");
	if (len < total)
		return 0;

	h->version = 2;
	a = buf + PROXY_PROTOCOL_V2_HEADER_LEN;
	if (fam == PROXY_PROTOCOL_V2_FAM_TCP4) {
		s4->sin_family = AF_INET;
		d4->sin_family = AF_INET;
		/* Addresses and ports are in network order on the wire too. */
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
		h->src_len = h->dst_len = sizeof(struct sockaddr_in);
	} else if (fam == PROXY_PROTOCOL_V2_FAM_TCP6) {
		s6->sin6_family = AF_INET6;
		d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
		h->src_len = h->dst_len = sizeof(struct sockaddr_in6);
	} else {
		h->local = true;
	}
	return (int)total;
}

/*
 * See proxy_protocol.h. *h is cleared first and filled only when the
 * result is > 0; a v2 PROXY with family UNSPEC counts as local, as the
 * spec lets the receiver ignore its addresses. <detail> may be NULL.
 */
int
proxy_protocol_parse(const unsigned char *buf, size_t len,
    struct proxy_header *h, const char **detail)
{
	memset(h, 0, sizeof(*h));
	if (detail != NULL)
		*detail = NULL;
	if (len == 0)
		return 0;
	if (buf[0] == 'P')
		return proxy_protocol_v1(buf, len, h, detail);
	if (buf[0] == proxy_protocol_v2_sig[0])
		return proxy_protocol_v2(buf, len, h, detail);
	return proxy_protocol_fail(detail, "not a PROXY header");
}
