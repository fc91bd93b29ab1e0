/*
 * Address blocks: parsing and membership.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "ocspgate/cidr.h"

static const struct {
	const char *text;
	int ok;
	unsigned prefix;
} parse_cases[] = {
    {"10.0.0.0/8", 1, 8},
    {"192.0.2.7", 1, 32},
    {"0.0.0.0/0", 1, 0},
    {"2001:db8::/32", 1, 32},
    {"::1", 1, 128},
    {"::/0", 1, 0},
    {"10.0.0.1/8", 0, 0},
    {"10.0.0.0/33", 0, 0},
    {"10.0.0.0/08", 0, 0},
    {"10.0.0.0/", 0, 0},
    {"10.0.0.0/x", 0, 0},
    {"2001:db8::1/32", 0, 0},
    {"2001:db8::/129", 0, 0},
    {"host.example", 0, 0},
    {"", 0, 0},
    {"/8", 0, 0},
};

/* cidr_group(): the key of an address's source block, as text. */
static const struct {
	const char *addr;
	unsigned prefix6;
	const char *key;
} group_cases[] = {
    {"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
    {"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::"},
    {"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
    {"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::"},
    {"2001:db8:1:ff:3:4:5:6", 60, "2001:db8:1:f0::"},
    {"2001:db8:1:2:3:4:5:6", 0, "::"},
    {"::ffff:192.0.2.7", 64, "192.0.2.7"}, /* mapped: IPv4, whole */
    {"192.0.2.7", 64, "192.0.2.7"},
    {"192.0.2.7", 0, "192.0.2.7"},
};

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, text, &a->sin_addr);
	}
	return ss;
}

static const struct {
	const char *block;
	const char *addr;
	int in;
} contain_cases[] = {
    {"10.0.0.0/8", "10.255.1.2", 1},
    {"10.0.0.0/8", "11.0.0.0", 0},
    {"192.0.2.128/25", "192.0.2.200", 1},
    {"192.0.2.128/25", "192.0.2.127", 0},
    {"192.0.2.7", "192.0.2.7", 1},
    {"192.0.2.7", "192.0.2.8", 0},
    {"0.0.0.0/0", "203.0.113.9", 1},
    {"10.0.0.0/8", "::ffff:10.1.2.3", 1},
    {"10.0.0.0/8", "::ffff:11.1.2.3", 0},
    {"10.0.0.0/8", "2001:db8::1", 0},
    {"2001:db8::/32", "2001:db8:ffff::1", 1},
    {"2001:db8::/33", "2001:db8:8000::1", 0},
    {"::1", "::1", 1},
    {"::1", "127.0.0.1", 0},
    {"::/0", "10.0.0.1", 0},
};

int
main(void)
{
	char err[128];
	struct cidr list[2];

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		struct cidr c;
		int rc = cidr_parse(parse_cases[i].text, &c, err, sizeof(err));

		CHECKF((rc == 0) == parse_cases[i].ok, "%s: rc %d",
		    parse_cases[i].text, rc);
		if (rc == 0)
			CHECKF(c.prefix == parse_cases[i].prefix, "%s: /%u",
			    parse_cases[i].text, c.prefix);
		else
			CHECKF(err[0] != '\0', "%s: no message",
			    parse_cases[i].text);
	}
	for (size_t i = 0; i < sizeof(contain_cases) / sizeof(contain_cases[0]);
	     i++) {
		struct cidr c;
		struct sockaddr_storage ss = addr(contain_cases[i].addr);

		CHECK(cidr_parse(
		          contain_cases[i].block, &c, err, sizeof(err)) == 0);
		CHECKF(cidr_contains(&c, (struct sockaddr *)&ss) ==
		        (contain_cases[i].in != 0),
		    "%s in %s", contain_cases[i].addr, contain_cases[i].block);
	}
	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]);
	     i++) {
		struct sockaddr_storage ss = addr(group_cases[i].addr);
		unsigned char a[16];
		char text[64];
		int family = cidr_key((struct sockaddr *)&ss, a);

		cidr_group(family, a, group_cases[i].prefix6);
		inet_ntop(family, a, text, sizeof(text));
		CHECKF(strcmp(text, group_cases[i].key) == 0, "%s /%u: %s",
		    group_cases[i].addr, group_cases[i].prefix6, text);
	}
	cidr_parse("10.0.0.0/8", &list[0], err, sizeof(err));
	cidr_parse("::1", &list[1], err, sizeof(err));
	{
		struct sockaddr_storage a = addr("::1"), b = addr("10.2.3.4"),
		                        c = addr("127.0.0.1");

		CHECK(cidr_list_contains(list, 2, (struct sockaddr *)&a));
		CHECK(cidr_list_contains(list, 2, (struct sockaddr *)&b));
		CHECK(!cidr_list_contains(list, 2, (struct sockaddr *)&c));
		CHECK(!cidr_list_contains(list, 0, (struct sockaddr *)&c));
	}
	return check_done();
}
