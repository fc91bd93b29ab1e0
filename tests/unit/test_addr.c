/*
 * Socket addresses as text: each family, the edge ports, a buffer too
 * small, a family without an address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "check.h"
#include "ocspgate/addr.h"

static const struct {
	const char *ip;
	unsigned port;
	const char *text;
} cases[] = {
    {"192.0.2.1", 80, "192.0.2.1:80"},
    {"0.0.0.0", 0, "0.0.0.0:0"},
    {"255.255.255.255", 65535, "255.255.255.255:65535"},
    {"2001:db8::1", 3128, "[2001:db8::1]:3128"},
    {"::", 0, "[::]:0"},
    {"::ffff:192.0.2.7", 443, "[::ffff:192.0.2.7]:443"},
    {"2001:db8:1:2:3:4:5:6", 8080, "[2001:db8:1:2:3:4:5:6]:8080"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
        "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
};

static struct sockaddr_storage
sockaddr_of(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss =
		    sockaddr_of(cases[i].ip, cases[i].port);
		const struct sockaddr *sa = (const struct sockaddr *)&ss;
		char ip[INET6_ADDRSTRLEN], text[ADDR_TEXT_MAX];

		CHECKF(strcmp(addr_ip(sa, ip, sizeof(ip)), cases[i].ip) == 0,
		    "%s: ip %s", cases[i].ip, ip);
		CHECKF(addr_port(sa) == cases[i].port, "%s: port %u",
		    cases[i].ip, addr_port(sa));
		addr_format(sa, text, sizeof(text));
		CHECKF(strcmp(text, cases[i].text) == 0, "%s: text %s",
		    cases[i].ip, text);
		/* Truncated, still terminated. */
		addr_format(sa, text, 5);
		CHECKF(strlen(text) == 4 && memcmp(text, cases[i].text, 4) == 0,
		    "%s: truncated %s", cases[i].ip, text);
	}
}

static void
test_edges(void)
{
	struct sockaddr_storage ss = sockaddr_of("2001:db8::1", 80);
	struct sockaddr_un un;
	char out[ADDR_TEXT_MAX] = "x";

	/* inet_ntop() refuses a buffer too small: "" rather than a cut. */
	CHECK(strcmp(addr_ip((const struct sockaddr *)&ss, out, 4), "") == 0);
	/* Nothing written for no room. */
	out[0] = 'x';
	addr_ip((const struct sockaddr *)&ss, out, 0);
	addr_format((const struct sockaddr *)&ss, out, 0);
	CHECK(out[0] == 'x');
	/* A family without an address or port. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK(strcmp(addr_ip((const struct sockaddr *)&un, out, sizeof(out)),
	          "") == 0);
	CHECK(addr_port((const struct sockaddr *)&un) == 0);
	addr_format((const struct sockaddr *)&un, out, sizeof(out));
	CHECK(out[0] == '\0');
}

/* The family, read as bytes, of each kind of address a caller holds. */
static void
test_family(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u = {.in6 = {.sin6_family = AF_INET6}};

	CHECK(addr_family((const struct sockaddr *)(const void *)&sin) ==
	    AF_INET);
	CHECK(addr_family((const struct sockaddr *)(const void *)&sin6) ==
	    AF_INET6);
	CHECK(
	    addr_family((const struct sockaddr *)(const void *)&ss) == AF_UNIX);
	CHECK(addr_family(&u.sa) == AF_INET6);
}

int
main(void)
{
	test_cases();
	test_edges();
	test_family();
	return check_done();
}
