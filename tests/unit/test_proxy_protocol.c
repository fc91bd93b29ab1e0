/*
 * Unit tests for proxy_protocol.c: valid v1 and v2 headers with their
 * addresses and exact lengths, and refusals at the first byte that can
 * no longer begin a valid header. Each input is also fed one byte more
 * at a time, and run through the fuzz target's invariants.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/proxy_protocol.h"

/* The fuzz invariants, run here on the tables. */
#include "../fuzz/fuzz_proxy_protocol.c"

#define S(lit) lit, sizeof(lit) - 1

/* An input made of a header and what follows it: consumes the header. */
#define HDR(hdr, tail)                                                         \
	.in = hdr tail, .in_len = sizeof(hdr tail) - 1, .want = sizeof(hdr) - 1

#define GET "GET / HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define A4  "\xc0\x00\x02\x01" /* 192.0.2.1 */
#define B4  "\xc6\x33\x64\x02" /* 198.51.100.2 */
#define P4                                                                     \
	"\xdc\x04"                                                             \
	"\x01\xbb" /* 56324, 443 */
#define A6                                                                     \
	"\x20\x01\x0d\xb8"                                                     \
	"\0\0\0\0\0\0\0\0\0\0\0\x01" /* 2001:db8::1 */
#define B6                                                                     \
	"\x20\x01\x0d\xb8"                                                     \
	"\0\0\0\0\0\0\0\0\0\0\0\x02" /* 2001:db8::2 */
#define P6                                                                     \
	"\0\x01"                                                               \
	"\xff\xff" /* 1, 65535 */
#define V1_4 "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443"

struct pp_case {
	const char *name;
	const char *in;
	size_t in_len;
	int want;       /* bytes consumed, 0 for more, -1 refused */
	size_t fail_at; /* -1: the shortest prefix refused */
	/* When want > 0. */
	int version;
	bool local;
	int af;
	const char *src;
	uint16_t sport;
	const char *dst;
	uint16_t dport;
};

/* Headers that parse, most followed by a request that is not consumed. */
static const struct pp_case ok_cases[] = {
    {.name = "v1 TCP4",
        HDR(V1_4 "\r\n", GET),
        .version = 1,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v1 TCP4 alone",
        HDR(V1_4 "\r\n", ""),
        .version = 1,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v1 TCP4 extreme addresses and ports",
        HDR("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", GET),
        .version = 1,
        .af = AF_INET,
        .src = "0.0.0.0",
        .sport = 0,
        .dst = "255.255.255.255",
        .dport = 65535},
    {.name = "v1 TCP4 then another PROXY line",
        HDR(V1_4 "\r\n", V1_4 "\r\n"),
        .version = 1,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v1 TCP6",
        HDR("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", GET),
        .version = 1,
        .af = AF_INET6,
        .src = "2001:db8::1",
        .sport = 1,
        .dst = "2001:db8::2",
        .dport = 65535},
    {.name = "v1 TCP6 uncompressed, leading zeros, upper case",
        HDR("PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 "
            "2001:db8:0:0:0:0:0:2 80 8080\r\n",
            GET),
        .version = 1,
        .af = AF_INET6,
        .src = "2001:db8::1",
        .sport = 80,
        .dst = "2001:db8::2",
        .dport = 8080},
    {.name = "v1 TCP6 mapped IPv4 and ::",
        HDR("PROXY TCP6 ::ffff:192.0.2.1 :: 10 0\r\n", GET),
        .version = 1,
        .af = AF_INET6,
        .src = "::ffff:192.0.2.1",
        .sport = 10,
        .dst = "::",
        .dport = 0},
    {.name = "v1 TCP6 longest form",
        HDR("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
            "::1 65535 65535\r\n",
            GET),
        .version = 1,
        .af = AF_INET6,
        .src = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        .sport = 65535,
        .dst = "::1",
        .dport = 65535},
    {.name = "v1 UNKNOWN",
        HDR("PROXY UNKNOWN\r\n", GET),
        .version = 1,
        .local = true},
    {.name = "v1 UNKNOWN with the rest ignored",
        HDR("PROXY UNKNOWN  any\tthing  at all \r\n", GET),
        .version = 1,
        .local = true},
    {.name = "v1 UNKNOWN, the spec's longest line (107 bytes)",
        HDR("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
            GET),
        .version = 1,
        .local = true},

    {.name = "v2 PROXY TCP4",
        HDR(SIG "\x21\x11\0\x0c" A4 B4 P4, GET),
        .version = 2,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v2 PROXY TCP4 alone",
        HDR(SIG "\x21\x11\0\x0c" A4 B4 P4, ""),
        .version = 2,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v2 PROXY TCP4 with TLVs",
        HDR(SIG "\x21\x11\0\x19" A4 B4 P4 "\x04\0\x03"
                "abc"
                "\x03\0\x04"
                "\x01\x02\x03\x04",
            GET),
        .version = 2,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v2 PROXY TCP4 with an empty TLV",
        HDR(SIG "\x21\x11\0\x0f" A4 B4 P4 "\x04\0\0", GET),
        .version = 2,
        .af = AF_INET,
        .src = "192.0.2.1",
        .sport = 56324,
        .dst = "198.51.100.2",
        .dport = 443},
    {.name = "v2 PROXY TCP6",
        HDR(SIG "\x21\x21\0\x24" A6 B6 P6, GET),
        .version = 2,
        .af = AF_INET6,
        .src = "2001:db8::1",
        .sport = 1,
        .dst = "2001:db8::2",
        .dport = 65535},
    {.name = "v2 PROXY TCP6 with TLVs",
        HDR(SIG "\x21\x21\0\x2f" A6 B6 P6 "\x02\0\x08"
                "ocsp.tst",
            GET),
        .version = 2,
        .af = AF_INET6,
        .src = "2001:db8::1",
        .sport = 1,
        .dst = "2001:db8::2",
        .dport = 65535},
    {.name = "v2 LOCAL",
        HDR(SIG "\x20\0\0\0", GET),
        .version = 2,
        .local = true},
    {.name = "v2 LOCAL with a CRC32C TLV, as HAProxy checks send it",
        HDR(SIG "\x20\0\0\x07"
                "\x03\0\x04"
                "\xa9\xb8\x7e\x8f",
            GET),
        .version = 2,
        .local = true},
    {.name = "v2 LOCAL ignores family and addresses",
        HDR(SIG "\x20\x31\0\x05"
                "abcde",
            GET),
        .version = 2,
        .local = true},
    {.name = "v2 LOCAL ignores an unknown family",
        HDR(SIG "\x20\xff\0\0", GET),
        .version = 2,
        .local = true},
    {.name = "v2 PROXY UNSPEC: no address given",
        HDR(SIG "\x21\0\0\0", GET),
        .version = 2,
        .local = true},
};

/* Valid beginnings: more bytes are needed. */
static const struct pp_case more_cases[] = {
    {.name = "empty", S(""), 0},
    {.name = "P", S("P"), 0},
    {.name = "PROX", S("PROX"), 0},
    {.name = "PROXY ", S("PROXY "), 0},
    {.name = "PROXY TCP", S("PROXY TCP"), 0},
    {.name = "PROXY UNKN", S("PROXY UNKN"), 0},
    {.name = "PROXY UNKNOWN", S("PROXY UNKNOWN"), 0},
    {.name = "PROXY UNKNOWN ", S("PROXY UNKNOWN "), 0},
    {.name = "PROXY TCP4 1.2", S("PROXY TCP4 1.2"), 0},
    {.name = "PROXY TCP4 1.2.", S("PROXY TCP4 1.2."), 0},
    {.name = "PROXY TCP6 2001:db8:", S("PROXY TCP6 2001:db8:"), 0},
    {.name = "PROXY TCP6 ::ffff:1.2", S("PROXY TCP6 ::ffff:1.2"), 0},
    {.name = "PROXY TCP6 1:2:3:4:5:6:7", S("PROXY TCP6 1:2:3:4:5:6:7"), 0},
    {.name = "v1 port 0, a whole port so far",
        S("PROXY TCP4 192.0.2.1 198.51.100.2 0"),
        0},
    {.name = "v1 all but CRLF", S(V1_4), 0},
    {.name = "v1 all but LF", S(V1_4 "\r"), 0},
    {.name = "CR", S("\r"), 0},
    {.name = "v2 signature", S(SIG), 0},
    {.name = "v2 up to the length", S(SIG "\x21\x11\0"), 0},
    {.name = "v2 up to the addresses", S(SIG "\x21\x11\0\x0c"), 0},
    {.name = "v2 TCP4 without its TLV", S(SIG "\x21\x11\0\x10" A4 B4 P4), 0},
    {.name = "v2 TLV header in part",
        S(SIG "\x21\x11\0\x10" A4 B4 P4 "\x04\0"),
        0},
    {.name = "v2 LOCAL without its payload",
        S(SIG "\x20\0\0\x05"
              "ab"),
        0},
};

/* Refusals, and the shortest prefix already refused. */
static const struct pp_case bad_cases[] = {
    {.name = "HTTP request", S(GET), -1, 1},
    {.name = "CONNECT", S("CONNECT ocsp.test:443 HTTP/1.1\r\n\r\n"), -1, 1},
    {.name = "TLS ClientHello", S("\x16\x03\x01\x02\0\x01"), -1, 1},
    {.name = "blank line then request", S("\r\nGET / HTTP/1.1\r\n"), -1, 3},
    {.name = "PUT, sharing only the P", S("PUT / HTTP/1.1\r\n"), -1, 2},

    {.name = "v1 lower case", S("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), -1, 1},
    {.name = "v1 PROXY\\r\\n", S("PROXY\r\n"), -1, 6},
    {.name = "v1 tab after PROXY", S("PROXY\tTCP4"), -1, 6},
    {.name = "v1 double space after PROXY",
        S("PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n"),
        -1,
        7},
    {.name = "v1 double space after TCP4",
        S("PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n"),
        -1,
        12},
    {.name = "v1 double space between ports",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 1  2\r\n"),
        -1,
        34},
    {.name = "v1 lower-case protocol", S("PROXY tcp4"), -1, 7},
    {.name = "v1 TCP5", S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), -1, 10},
    {.name = "v1 UNKNOWNX", S("PROXY UNKNOWNX\r\n"), -1, 14},
    {.name = "v1 protocol only", S("PROXY TCP4\r\n"), -1, 11},
    {.name = "v1 empty protocol", S("PROXY \r\n"), -1, 7},
    {.name = "v1 no destination port",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 80\r\n"),
        -1,
        34},
    {.name = "v1 no ports", S("PROXY TCP4 192.0.2.1 192.0.2.2\r\n"), -1, 31},
    {.name = "v1 port 65536",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 65536 443\r\n"),
        -1,
        36},
    {.name = "v1 six-digit port",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 80 000443\r\n"),
        -1,
        36},
    {.name = "v1 port with a leading zero",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 080 443\r\n"),
        -1,
        33},
    {.name = "v1 signed port",
        S("PROXY TCP4 192.0.2.1 192.0.2.2 +80 443\r\n"),
        -1,
        32},
    {.name = "v1 IPv6 address in TCP4",
        S("PROXY TCP4 ::1 192.0.2.2 80 443\r\n"),
        -1,
        12},
    {.name = "v1 IPv4 address in TCP6",
        S("PROXY TCP6 192.0.2.1 ::1 80 443\r\n"),
        -1,
        15},
    {.name = "v1 IPv4 destination in TCP6",
        S("PROXY TCP6 ::1 192.0.2.1 80 443\r\n"),
        -1,
        19},
    {.name = "v1 IPv4 with a leading zero",
        S("PROXY TCP4 192.0.2.01 192.0.2.2 80 443\r\n"),
        -1,
        21},
    {.name = "v1 IPv4 with three parts",
        S("PROXY TCP4 192.0.2 192.0.2.2 80 443\r\n"),
        -1,
        19},
    {.name = "v1 IPv4 octet over 255",
        S("PROXY TCP4 192.0.2.256 192.0.2.2 80 443\r\n"),
        -1,
        22},
    {.name = "v1 IPv6 with two ::",
        S("PROXY TCP6 1::2::3 ::1 80 443\r\n"),
        -1,
        17},
    {.name = "v1 IPv6 with a scope",
        S("PROXY TCP6 fe80::1%eth0 ::1 80 443\r\n"),
        -1,
        19},
    {.name = "v1 NUL in an address",
        S("PROXY TCP4 192.0.2.1\0 192.0.2.2 80 443\r\n"),
        -1,
        21},
    {.name = "v1 trailing junk before CRLF",
        S(V1_4 " x\r\n"),
        -1,
        sizeof(V1_4 " ") - 1},
    {.name = "v1 trailing space before CRLF",
        S(V1_4 " \r\n"),
        -1,
        sizeof(V1_4 " ") - 1},
    {.name = "v1 junk glued to the port",
        S(V1_4 "x\r\n"),
        -1,
        sizeof(V1_4 "x") - 1},
    {.name = "v1 bare LF", S(V1_4 "\n"), -1, sizeof(V1_4 "\n") - 1},
    {.name = "v1 CR without LF", S(V1_4 "\rGET"), -1, sizeof(V1_4 "\rG") - 1},
    {.name = "v1 LF CR", S(V1_4 "\n\r"), -1, sizeof(V1_4 "\n") - 1},
    {.name = "v1 UNKNOWN with a bare LF", S("PROXY UNKNOWN x\ny\r\n"), -1, 16},
    {.name = "v1 no CRLF within 107 bytes",
        S("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        -1,
        107},
    {.name = "v1 108 bytes with CRLF",
        S("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
        -1,
        107},

    {.name = "v2 bad signature, first byte after CR",
        S("\r\r\n\0\r\nQUIT\n\x21\x11\0\x0c" A4 B4 P4),
        -1,
        2},
    {.name = "v2 bad signature, last byte",
        S("\r\n\r\n\0\r\nQUIT\r\x21\x11\0\x0c" A4 B4 P4),
        -1,
        12},
    {.name = "v2 version 1", S(SIG "\x11\x11\0\x0c" A4 B4 P4), -1, 13},
    {.name = "v2 version 3", S(SIG "\x31\x11\0\x0c" A4 B4 P4), -1, 13},
    {.name = "v2 command 2", S(SIG "\x22\x11\0\x0c" A4 B4 P4), -1, 13},
    {.name = "v2 command 15", S(SIG "\x2f\x11\0\x0c" A4 B4 P4), -1, 13},
    {.name = "v2 UDP over IPv4", S(SIG "\x21\x12\0\x0c" A4 B4 P4), -1, 14},
    {.name = "v2 UDP over IPv6", S(SIG "\x21\x22\0\x24" A6 B6 P6), -1, 14},
    {.name = "v2 UNIX stream with PROXY", S(SIG "\x21\x31\0\xd8"), -1, 14},
    {.name = "v2 UNIX datagram with PROXY", S(SIG "\x21\x32\0\xd8"), -1, 14},
    {.name = "v2 IPv4 without transport", S(SIG "\x21\x10\0\x0c"), -1, 14},
    {.name = "v2 unknown family", S(SIG "\x21\x41\0\x0c"), -1, 14},
    {.name = "v2 TCP4 length 11", S(SIG "\x21\x11\0\x0b" A4 B4 P4), -1, 16},
    {.name = "v2 TCP4 length 0", S(SIG "\x21\x11\0\0" GET), -1, 16},
    {.name = "v2 TCP6 with IPv4 length",
        S(SIG "\x21\x21\0\x0c" A4 B4 P4),
        -1,
        16},
    {.name = "v2 truncated TLV header (2 bytes)",
        S(SIG "\x21\x11\0\x0e" A4 B4 P4 "\x04\0"),
        -1,
        16},
    {.name = "v2 TLV length past the end",
        S(SIG "\x21\x11\0\x13" A4 B4 P4 "\x04\0\x05"
              "abcd"),
        -1,
        31},
    {.name = "v2 second TLV length past the end",
        S(SIG "\x21\x11\0\x15" A4 B4 P4 "\x04\0\x01"
              "a"
              "\x04\0\x03"
              "bc"),
        -1,
        35},
    {.name = "v2 TLVs leaving 1 byte",
        S(SIG "\x21\x11\0\x10" A4 B4 P4 "\x04\0\0"
              "z"),
        -1,
        31},
    {.name = "v2 TCP6 TLV length past the end",
        S(SIG "\x21\x21\0\x28" A6 B6 P6 "\x04\x01\0"
              "z"),
        -1,
        55},
    {.name = "v2 total one over PROXY_PROTOCOL_V2_MAX",
        S(SIG "\x21\x11\x0f\xf1" A4 B4 P4),
        -1,
        16},
    {.name = "v2 total 65551", S(SIG "\x20\0\xff\xff"), -1, 16},
};

static bool
pp_addr_is(const struct sockaddr_storage *ss, socklen_t len, int af,
    const char *text, uint16_t port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	unsigned char want[16];

	if (ss->ss_family != af || inet_pton(af, text, want) != 1)
		return false;
	if (af == AF_INET)
		return len == sizeof(*s4) && ntohs(s4->sin_port) == port &&
		    memcmp(&s4->sin_addr, want, 4) == 0;
	return len == sizeof(*s6) && ntohs(s6->sin6_port) == port &&
	    memcmp(&s6->sin6_addr, want, 16) == 0;
}

/* Parses one case whole and by prefixes, and checks what it gave. */
static void
pp_run(const struct pp_case *c)
{
	struct proxy_header h;
	const char *detail = "unset";
	int r;

	r = proxy_protocol_parse(
	    (const unsigned char *)c->in, c->in_len, &h, &detail);
	CHECKF(r == c->want, "%s: got %d, want %d (%s)", c->name, r, c->want,
	    detail != NULL ? detail : "no detail");
	CHECKF((r == -1) == (detail != NULL), "%s: detail", c->name);

	if (r > 0 && r == c->want) {
		CHECKF(h.version == c->version, "%s: version %d", c->name,
		    h.version);
		CHECKF(h.local == c->local, "%s: local", c->name);
		if (c->local) {
			CHECKF(h.src_len == 0 && h.dst_len == 0, "%s: lengths",
			    c->name);
		} else {
			CHECKF(pp_addr_is(
			           &h.src, h.src_len, c->af, c->src, c->sport),
			    "%s: source", c->name);
			CHECKF(pp_addr_is(
			           &h.dst, h.dst_len, c->af, c->dst, c->dport),
			    "%s: destination", c->name);
		}
	}

	/*
	 * One byte more at a time: "more" up to the header's end (or the
	 * refusal), then the same result for every longer prefix.
	 */
	for (size_t k = 0; k <= c->in_len; k++) {
		size_t until = c->want > 0 ? (size_t)c->want
		    : c->want < 0          ? c->fail_at
		                           : c->in_len + 1;
		int want = k < until ? 0 : c->want;

		r = proxy_protocol_parse(
		    (const unsigned char *)c->in, k, &h, &detail);
		if (r != want) {
			CHECKF(r == want, "%s: prefix %zu got %d, want %d (%s)",
			    c->name, k, r, want,
			    detail != NULL ? detail : "no detail");
			break;
		}
	}
	CHECK(c->want >= 0 || (c->fail_at > 0 && c->fail_at <= c->in_len));

	LLVMFuzzerTestOneInput((const uint8_t *)c->in, c->in_len);
}

/* A header exactly PROXY_PROTOCOL_V2_MAX long is taken, not one more. */
static void
pp_test_v2_max(void)
{
	static unsigned char buf[PROXY_PROTOCOL_V2_MAX + 64];
	struct proxy_header h;
	const char *detail;
	size_t tlv = PROXY_PROTOCOL_V2_MAX - 16 - 12 - 3;
	int r;

	for (int over = 0; over <= 1; over++) {
		size_t rest = PROXY_PROTOCOL_V2_MAX - 16 + (size_t)over;

		memset(buf, 'x', sizeof(buf));
		memcpy(buf, SIG "\x21\x11", 14);
		buf[14] = (unsigned char)(rest >> 8);
		buf[15] = (unsigned char)rest;
		memcpy(buf + 16, A4 B4 P4, 12);
		buf[28] = 0x04;
		buf[29] = (unsigned char)((tlv + (size_t)over) >> 8);
		buf[30] = (unsigned char)(tlv + (size_t)over);

		r = proxy_protocol_parse(buf, sizeof(buf), &h, &detail);
		CHECKF(r == (over ? -1 : PROXY_PROTOCOL_V2_MAX),
		    "v2 max, over %d: %d", over, r);
		r = proxy_protocol_parse(buf, 16, &h, &detail);
		CHECKF(r == (over ? -1 : 0), "v2 max, over %d, 16 bytes: %d",
		    over, r);
		r = proxy_protocol_parse(
		    buf, PROXY_PROTOCOL_V2_MAX - 1, &h, &detail);
		CHECKF(r == (over ? -1 : 0), "v2 max, over %d, all but 1: %d",
		    over, r);
		LLVMFuzzerTestOneInput(
		    buf, PROXY_PROTOCOL_V2_MAX + (size_t)over);
	}

	/* Callers may leave out the detail. */
	CHECK(proxy_protocol_parse((const unsigned char *)"x", 1, &h, NULL) ==
	    -1);
}

/*
 * Writes the 8 groups of <g> as IPv6 text in one of several valid
 * styles: canonical, full, zero-padded upper case, any run of zero
 * groups compressed, or the last 32 bits as a dotted quad.
 */
static void
pp_ip6_text(const uint16_t *g, int style, char *out, size_t outlen)
{
	size_t o = 0;
	int from = -1, to = -1, last = style == 4 ? 6 : 8;
	unsigned char bytes[16];

	if (style == 0) {
		for (int i = 0; i < 8; i++) {
			bytes[2 * i] = (unsigned char)(g[i] >> 8);
			bytes[2 * i + 1] = (unsigned char)g[i];
		}
		if (inet_ntop(AF_INET6, bytes, out, (socklen_t)outlen) == NULL)
			abort();
		return;
	}
	if (style == 3 || style == 4) {
		/* The first run of zero groups, however short. */
		for (int i = 0; i < last && from < 0; i++)
			if (g[i] == 0)
				from = i;
		for (to = from; to >= 0 && to < last && g[to] == 0; to++)
			continue;
	}
	for (int i = 0; i < last; i++) {
		if (i == from) {
			o += (size_t)snprintf(out + o, outlen - o, "::");
			i = to - 1;
			continue;
		}
		if (i > 0 && i != to)
			o += (size_t)snprintf(out + o, outlen - o, ":");
		o += (size_t)snprintf(
		    out + o, outlen - o, style == 2 ? "%04X" : "%x", g[i]);
	}
	if (style == 4) {
		if (to != last)
			o += (size_t)snprintf(out + o, outlen - o, ":");
		(void)snprintf(out + o, outlen - o, "%u.%u.%u.%u", g[6] >> 8,
		    g[6] & 0xff, g[7] >> 8, g[7] & 0xff);
	}
}

/* A random group, with any number of hex digits. */
static uint16_t
pp_random_group(void)
{
	return (uint16_t)((unsigned)(rand() & 0xffff) >> (rand() % 16));
}

/*
 * Random addresses in every textual style, fed one byte at a time: each
 * partial address must be seen as a valid beginning.
 */
static void
pp_test_random_addresses(void)
{
	char line[256], s[64], d[64];
	struct proxy_header h;
	const char *detail;
	unsigned failures = 0;
	int n, r;

	srand(1);
	for (int iter = 0; iter < 2000; iter++) {
		uint16_t gs[8], gd[8];
		int style = iter % 5;
		bool v4 = iter % 7 == 0;

		for (int i = 0; i < 8; i++) {
			gs[i] = rand() % 2 ? 0 : pp_random_group();
			gd[i] = rand() % 3 ? 0 : pp_random_group();
		}
		if (v4) {
			snprintf(s, sizeof(s), "%u.%u.%u.%u", gs[0] & 0xff,
			    gs[1] & 0xff, gs[2] & 0xff, gs[3] & 0xff);
			snprintf(d, sizeof(d), "%u.%u.%u.%u", gd[0] & 0xff,
			    gd[1] & 0xff, gd[2] & 0xff, gd[3] & 0xff);
		} else {
			pp_ip6_text(gs, style, s, sizeof(s));
			pp_ip6_text(gd, (style + 1) % 5, d, sizeof(d));
		}
		n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
		    v4 ? '4' : '6', s, d, gs[0], gd[7]);
		if (n > PROXY_PROTOCOL_V1_MAX)
			continue;
		for (int k = 0; k < n; k++) {
			r = proxy_protocol_parse((const unsigned char *)line,
			    (size_t)k, &h, &detail);
			if (r != 0) {
				CHECKF(r == 0, "random %s prefix %d: %d (%s)",
				    line, k, r, detail != NULL ? detail : "");
				failures++;
				break;
			}
		}
		r = proxy_protocol_parse(
		    (const unsigned char *)line, (size_t)n, &h, &detail);
		if (r != n) {
			CHECKF(r == n, "random %s: %d (%s)", line, r,
			    detail != NULL ? detail : "");
			failures++;
		} else if (!pp_addr_is(&h.src, h.src_len,
		               v4 ? AF_INET : AF_INET6, s, gs[0]) ||
		    !pp_addr_is(
		        &h.dst, h.dst_len, v4 ? AF_INET : AF_INET6, d, gd[7])) {
			CHECKF(false, "random %s: addresses", line);
			failures++;
		}
		if (failures > 10)
			break;
	}
	CHECK(failures == 0);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		pp_run(&ok_cases[i]);
	for (size_t i = 0; i < sizeof(more_cases) / sizeof(more_cases[0]); i++)
		pp_run(&more_cases[i]);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		pp_run(&bad_cases[i]);
	pp_test_v2_max();
	pp_test_random_addresses();
	return check_done();
}
