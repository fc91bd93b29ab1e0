/*
 * Unit tests for the asset inventory: exact addresses, CIDR blocks and
 * the longest prefix, IPv6 and IPv4-mapped lookups, tags, CSV quoting,
 * comments and CRLF, each error with its exact "NAME:LINE: message"
 * line, loading files, and 100,000 random rows checked against a naive
 * scan (the load time is printed, not asserted).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ocspgate/inventory.h"

#define S(lit) lit, sizeof(lit) - 1
#define NAME   "inv.csv"
#define HEADER_ERR                                                             \
	"missing header: the first row must be \"address,host\", then any "    \
	"tag names"

static struct inventory *
parse(const char *text, size_t len, char *err, size_t errlen)
{
	return inventory_parse(NAME, text, len, err, errlen);
}

/* Looks up <addr> (IPv4 or IPv6 text) in <inv>. */
static const struct inventory_entry *
lookup(const struct inventory *inv, const char *addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return inventory_lookup(inv, (struct sockaddr *)&sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return inventory_lookup(inv, (struct sockaddr *)&sin6);
	}
	fprintf(stderr, "bad test address %s\n", addr);
	exit(2);
}

/* The host found for <addr>, or "(none)". */
static const char *
host_of(const struct inventory *inv, const char *addr)
{
	const struct inventory_entry *e = lookup(inv, addr);

	return e == NULL ? "(none)" : e->host;
}

/* The value of tag <name> in <e>, or NULL. */
static const char *
tag_of(const struct inventory_entry *e, const char *name)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->ntags; i++)
		if (strcmp(e->tag_names[i], name) == 0)
			return e->tag_values[i];
	return NULL;
}

struct lookup_case {
	const char *addr;
	const char *host; /* "(none)" for no match */
};

/* The longest prefix wins, whatever the order of the rows. */
static const char *const longest_csvs[] = {
    "address,host\n"
    "10.0.0.0/8,ten.corp.example\n"
    "10.1.0.0/16,ten-one.corp.example\n"
    "10.1.2.3,exact.corp.example\n"
    "192.168.1.0/24,lan.corp.example\n"
    "2001:db8::/32,doc.corp.example\n"
    "2001:db8:1::/48,doc-one.corp.example\n"
    "2001:db8:1:2::/64,subnet.corp.example\n"
    "2001:db8:1:2::5,v6exact.corp.example\n"
    "0.0.0.0/1,low-half\n",

    "address,host\n"
    "0.0.0.0/1,low-half\n"
    "2001:db8:1:2::5/128,v6exact.corp.example\n"
    "2001:db8:1:2::/64,subnet.corp.example\n"
    "10.1.2.3/32,exact.corp.example\n"
    "192.168.1.0/24,lan.corp.example\n"
    "2001:db8:1::/48,doc-one.corp.example\n"
    "10.1.0.0/16,ten-one.corp.example\n"
    "2001:db8::/32,doc.corp.example\n"
    "10.0.0.0/8,ten.corp.example\n",
};

static const struct lookup_case longest_cases[] = {
    {"10.1.2.3", "exact.corp.example"},
    {"10.1.2.4", "ten-one.corp.example"},
    {"10.1.255.255", "ten-one.corp.example"},
    {"10.2.0.0", "ten.corp.example"},
    {"10.255.255.255", "ten.corp.example"},
    {"9.255.255.255", "low-half"},
    {"0.0.0.0", "low-half"},
    {"127.0.0.1", "low-half"},
    {"128.0.0.0", "(none)"},
    {"11.0.0.0", "low-half"},
    {"192.168.1.77", "lan.corp.example"},
    {"192.168.2.1", "(none)"},
    {"255.255.255.255", "(none)"},
    {"::ffff:10.1.2.3", "exact.corp.example"},
    {"::ffff:10.9.9.9", "ten.corp.example"},
    {"::ffff:192.168.2.1", "(none)"},
    {"2001:db8:1:2::5", "v6exact.corp.example"},
    {"2001:db8:1:2::6", "subnet.corp.example"},
    {"2001:db8:1:2:ffff:ffff:ffff:ffff", "subnet.corp.example"},
    {"2001:db8:1:3::", "doc-one.corp.example"},
    {"2001:db8:2::1", "doc.corp.example"},
    {"2001:db9::1", "(none)"},
    {"::1", "(none)"},
    {"::", "(none)"},
    {"10.1.2.3", "exact.corp.example"},
};

static void
test_longest_prefix(void)
{
	char err[1024];

	for (size_t t = 0; t < sizeof(longest_csvs) / sizeof(*longest_csvs);
	     t++) {
		struct inventory *inv;

		inv = parse(
		    longest_csvs[t], strlen(longest_csvs[t]), err, sizeof(err));
		CHECKF(inv != NULL, "csv %zu: %s", t, err);
		if (inv == NULL)
			continue;
		CHECK(inventory_size(inv) == 9);
		for (size_t i = 0;
		     i < sizeof(longest_cases) / sizeof(*longest_cases); i++) {
			const struct lookup_case *c = &longest_cases[i];
			const char *got = host_of(inv, c->addr);

			CHECKF(strcmp(got, c->host) == 0,
			    "csv %zu, %s: got %s, want %s", t, c->addr, got,
			    c->host);
		}
		inventory_unref(inv);
	}
}

/* ::/0 and 0.0.0.0/0 are default rows, each for its own family. */
static void
test_default_routes(void)
{
	static const char csv[] = "address,host\n"
	                          "::/0,v6-default\n"
	                          "2001:db8::/64,v6-net\n"
	                          "2001:db8::1/128,v6-host\n"
	                          "0.0.0.0/0,v4-default\n";
	static const struct lookup_case cases[] = {
	    {"::", "v6-default"},
	    {"::1", "v6-default"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "v6-default"},
	    {"2001:db8::1", "v6-host"},
	    {"2001:db8::2", "v6-net"},
	    {"2001:db8:0:1::", "v6-default"},
	    {"1.2.3.4", "v4-default"},
	    {"::ffff:1.2.3.4", "v4-default"},
	    {"0.0.0.0", "v4-default"},
	};
	struct inventory *inv;
	char err[512];

	inv = parse(csv, strlen(csv), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	for (size_t i = 0; inv != NULL && i < sizeof(cases) / sizeof(*cases);
	     i++) {
		const char *got = host_of(inv, cases[i].addr);

		CHECKF(strcmp(got, cases[i].host) == 0, "%s: got %s, want %s",
		    cases[i].addr, got, cases[i].host);
	}
	inventory_unref(inv);

	/* Without a v4 default, IPv4 and mapped addresses match nothing. */
	inv = parse(S("address,host\n::/0,v6-default\n"), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	CHECK(lookup(inv, "1.2.3.4") == NULL);
	CHECK(lookup(inv, "::ffff:1.2.3.4") == NULL);
	CHECK(strcmp(host_of(inv, "::ffff:0:1.2.3.4"), "v6-default") == 0);
	inventory_unref(inv);
}

/* Rows written as IPv4-mapped IPv6 are IPv4 rows. */
static void
test_mapped_rows(void)
{
	struct inventory *inv;
	char err[512];

	inv = parse(S("address,host\n"
	              "::ffff:10.0.0.0/104,mapped-ten\n"
	              "::ffff:10.1.2.3,mapped-host\n"
	              "::/80,not-mapped\n"),
	    err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	CHECK(strcmp(host_of(inv, "10.9.9.9"), "mapped-ten") == 0);
	CHECK(strcmp(host_of(inv, "10.1.2.3"), "mapped-host") == 0);
	CHECK(strcmp(host_of(inv, "::ffff:10.1.2.3"), "mapped-host") == 0);
	CHECK(strcmp(host_of(inv, "11.0.0.1"), "(none)") == 0);
	CHECK(strcmp(host_of(inv, "::fffe:0:1"), "not-mapped") == 0);
	CHECK(strcmp(host_of(inv, "::ffff:11.0.0.1"), "(none)") == 0);
	inventory_unref(inv);
}

/* Tags come from the header; missing ones are ""; names are lowercased. */
static void
test_tags(void)
{
	static const char csv[] =
	    "Address,HOST,Role,owner,site_2\n"
	    "10.0.0.10,DC01.Corp.Example,domain-controller,identity,paris\n"
	    "10.0.0.11,dc02.corp.example,domain-controller\n"
	    "10.0.0.12,,,,\n"
	    "10.0.0.13\n";
	const struct inventory_entry *e;
	struct inventory *inv;
	char err[512];

	inv = parse(csv, strlen(csv), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	if (inv == NULL)
		return;
	CHECK(inventory_size(inv) == 4);
	e = lookup(inv, "10.0.0.10");
	CHECK(e != NULL && e->line == 2 && e->ntags == 3);
	CHECK(e != NULL && strcmp(e->host, "dc01.corp.example") == 0);
	CHECK(e != NULL && strcmp(e->tag_names[0], "role") == 0 &&
	    strcmp(e->tag_names[1], "owner") == 0 &&
	    strcmp(e->tag_names[2], "site_2") == 0);
	CHECK(strcmp(tag_of(e, "role"), "domain-controller") == 0);
	CHECK(strcmp(tag_of(e, "owner"), "identity") == 0);
	CHECK(strcmp(tag_of(e, "site_2"), "paris") == 0);
	e = lookup(inv, "10.0.0.11");
	CHECK(e != NULL && e->line == 3 && e->ntags == 3);
	CHECK(strcmp(tag_of(e, "role"), "domain-controller") == 0);
	CHECK(strcmp(tag_of(e, "owner"), "") == 0);
	CHECK(strcmp(tag_of(e, "site_2"), "") == 0);
	e = lookup(inv, "10.0.0.12");
	CHECK(e != NULL && strcmp(e->host, "") == 0 && e->ntags == 3);
	CHECK(strcmp(tag_of(e, "role"), "") == 0);
	e = lookup(inv, "10.0.0.13");
	CHECK(e != NULL && e->line == 5 && strcmp(e->host, "") == 0);
	CHECK(strcmp(tag_of(e, "site_2"), "") == 0);
	inventory_unref(inv);

	/* No tag columns. */
	inv = parse(S("address,host\n10.0.0.1,a\n"), err, sizeof(err));
	e = lookup(inv, "10.0.0.1");
	CHECK(e != NULL && e->ntags == 0 && strcmp(e->host, "a") == 0);
	inventory_unref(inv);
}

/* RFC 4180 quoting, spaces around fields, comments and blank lines. */
static void
test_csv_syntax(void)
{
	static const char csv[] =
	    "# The inventory of the corp network.\n"
	    "\n"
	    "  # indented comment\n"
	    "\"address\",\"host\",\"role\",\"note\"\n"
	    "   \t\n"
	    "\"10.0.0.1\",\"a.corp.example\",\"web, front\",\"say "
	    "\"\"hi\"\"\"\n"
	    " 10.0.0.2 , b.corp.example ,  db  ,  \" padded \" \n"
	    "10.0.0.3,c,\"\",\"\"\"\"\n"
	    "10.0.0.4,d,#not a comment,\"a,b,c\"\n"
	    "#10.0.0.5,commented-out\n"
	    "10.0.0.6,e,caf\xc3\xa9,\"\"";
	const struct inventory_entry *e;
	struct inventory *inv;
	char err[512];

	inv = parse(csv, strlen(csv), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	if (inv == NULL)
		return;
	CHECK(inventory_size(inv) == 5);
	e = lookup(inv, "10.0.0.1");
	CHECK(e != NULL && e->line == 6);
	CHECK(strcmp(tag_of(e, "role"), "web, front") == 0);
	CHECK(strcmp(tag_of(e, "note"), "say \"hi\"") == 0);
	e = lookup(inv, "10.0.0.2");
	CHECK(e != NULL && strcmp(e->host, "b.corp.example") == 0);
	CHECK(strcmp(tag_of(e, "role"), "db") == 0);
	CHECK(strcmp(tag_of(e, "note"), " padded ") == 0);
	e = lookup(inv, "10.0.0.3");
	CHECK(strcmp(tag_of(e, "role"), "") == 0);
	CHECK(strcmp(tag_of(e, "note"), "\"") == 0);
	e = lookup(inv, "10.0.0.4");
	CHECK(strcmp(tag_of(e, "role"), "#not a comment") == 0);
	CHECK(strcmp(tag_of(e, "note"), "a,b,c") == 0);
	CHECK(lookup(inv, "10.0.0.5") == NULL);
	e = lookup(inv, "10.0.0.6");
	CHECK(e != NULL && e->line == 11);
	CHECK(strcmp(tag_of(e, "role"), "caf\xc3\xa9") == 0);
	inventory_unref(inv);

	/* A header alone is an empty inventory. */
	inv = parse(S("address,host,role"), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	CHECK(inventory_size(inv) == 0);
	CHECK(lookup(inv, "10.0.0.1") == NULL);
	CHECK(lookup(inv, "::1") == NULL);
	inventory_unref(inv);
}

/* CRLF line ends (and a byte order mark) as spreadsheets write them. */
static void
test_crlf(void)
{
	static const char csv[] = "\xef\xbb\xbf"
	                          "address,host,role\r\n"
	                          "# comment\r\n"
	                          "\r\n"
	                          "10.0.0.1,a,\"x\"\r\n"
	                          "10.0.0.2,b,y\r\n"
	                          "10.0.0.3,c\r\n"
	                          "10.0.0.4,d,z\n"
	                          "2001:db8::/64,e,w\r\n";
	const struct inventory_entry *e;
	struct inventory *inv;
	char err[512];

	inv = parse(csv, strlen(csv), err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	if (inv == NULL)
		return;
	CHECK(inventory_size(inv) == 5);
	e = lookup(inv, "10.0.0.1");
	CHECK(e != NULL && e->line == 4 && strcmp(e->host, "a") == 0);
	CHECK(strcmp(tag_of(e, "role"), "x") == 0);
	e = lookup(inv, "10.0.0.2");
	CHECK(strcmp(tag_of(e, "role"), "y") == 0);
	e = lookup(inv, "10.0.0.3");
	CHECK(e != NULL && strcmp(e->host, "c") == 0);
	CHECK(strcmp(tag_of(e, "role"), "") == 0);
	e = lookup(inv, "10.0.0.4");
	CHECK(strcmp(tag_of(e, "role"), "z") == 0);
	e = lookup(inv, "2001:db8::99");
	CHECK(e != NULL && e->line == 8 && strcmp(tag_of(e, "role"), "w") == 0);
	inventory_unref(inv);
}

struct error_case {
	const char *text;
	size_t len;
	const char *err; /* every error, exactly */
};

#define ERR(lit, msg)                                                          \
	{                                                                      \
		S(lit), msg                                                    \
	}

static const struct error_case error_cases[] = {
    /* The header. */
    ERR("", NAME ":1: " HEADER_ERR "\n"),
    ERR("# only a comment\n\n", NAME ":2: " HEADER_ERR "\n"),
    ERR("10.0.0.1,dc01\n10.0.0.2,dc02\n", NAME ":1: " HEADER_ERR "\n"),
    ERR("address\n", NAME ":1: " HEADER_ERR "\n"),
    ERR("host,address\n", NAME ":1: " HEADER_ERR "\n"),
    ERR("addr,host\n", NAME ":1: " HEADER_ERR "\n"),
    ERR("address,host,Ro-le\n",
        NAME ":1: bad tag name \"Ro-le\": only letters, digits and '_' are "
             "allowed\n"),
    ERR("address,host,r\xc3\xb4le\n",
        NAME ":1: bad tag name \"r\xc3\xb4le\": only letters, digits and '_' "
             "are allowed\n"),
    ERR("address,host,role,owner,Role\n",
        NAME ":1: duplicate tag name \"role\" in columns 3 and 5\n"),
    ERR("address,host,role,\n", NAME ":1: empty tag name in column 4\n"),
    ERR("address,host,,role\n", NAME ":1: empty tag name in column 3\n"),
    ERR("address,host,a,a,a\n",
        NAME ":1: duplicate tag name \"a\" in columns 3 and 4\n" NAME
             ":1: duplicate tag name \"a\" in columns 3 and 5\n"),
    /* Addresses and prefixes. */
    ERR("address,host\n10.0.0.300,x\n",
        NAME ":2: bad address \"10.0.0.300\"\n"),
    ERR("address,host\ndc01,x\n", NAME ":2: bad address \"dc01\"\n"),
    ERR("address,host\n10.0.0,x\n", NAME ":2: bad address \"10.0.0\"\n"),
    ERR("address,host\n010.0.0.1,x\n", NAME ":2: bad address \"010.0.0.1\"\n"),
    ERR("address,host\n2001:db8::g,x\n",
        NAME ":2: bad address \"2001:db8::g\"\n"),
    ERR("address,host\nfe80::1%eth0,x\n",
        NAME ":2: bad address \"fe80::1%eth0\"\n"),
    ERR("address,host\n/8,x\n", NAME ":2: bad address \"/8\"\n"),
    ERR("address,host\n,x\n", NAME ":2: missing address\n"),
    ERR("address,host\n\"\",x\n", NAME ":2: missing address\n"),
    ERR("address,host\n10.0.0.1/8,x\n",
        NAME ":2: host bits set in \"10.0.0.1/8\": the network is "
             "10.0.0.0/8\n"),
    ERR("address,host\n192.168.1.1/24,x\n",
        NAME ":2: host bits set in \"192.168.1.1/24\": the network is "
             "192.168.1.0/24\n"),
    ERR("address,host\n2001:db8::1/64,x\n",
        NAME ":2: host bits set in \"2001:db8::1/64\": the network is "
             "2001:db8::/64\n"),
    ERR("address,host\n1.0.0.0/0,x\n",
        NAME ":2: host bits set in \"1.0.0.0/0\": the network is "
             "0.0.0.0/0\n"),
    ERR("address,host\n10.0.0.0/33,x\n",
        NAME ":2: bad prefix length in \"10.0.0.0/33\": IPv4 allows /0 to "
             "/32\n"),
    ERR("address,host\n2001:db8::/129,x\n",
        NAME ":2: bad prefix length in \"2001:db8::/129\": IPv6 allows /0 to "
             "/128\n"),
    ERR("address,host\n10.0.0.0/,x\n",
        NAME ":2: bad prefix length in \"10.0.0.0/\": IPv4 allows /0 to "
             "/32\n"),
    ERR("address,host\n10.0.0.0/-8,x\n",
        NAME ":2: bad prefix length in \"10.0.0.0/-8\": IPv4 allows /0 to "
             "/32\n"),
    ERR("address,host\n10.0.0.0/8/8,x\n",
        NAME ":2: bad prefix length in \"10.0.0.0/8/8\": IPv4 allows /0 to "
             "/32\n"),
    ERR("address,host\n10.0.0.0/0008,x\n",
        NAME ":2: bad prefix length in \"10.0.0.0/0008\": IPv4 allows /0 to "
             "/32\n"),
    /* Duplicates, however written. */
    ERR("address,host\n10.0.0.0/8,a\n10.0.0.0/8,b\n",
        NAME ":3: duplicate prefix 10.0.0.0/8, already on line 2\n"),
    ERR("address,host\n10.0.0.5,a\n# c\n\n10.0.0.5/32,b\n",
        NAME ":5: duplicate prefix 10.0.0.5/32, already on line 2\n"),
    ERR("address,host\n10.0.0.5,a\n::ffff:10.0.0.5,b\n",
        NAME ":3: duplicate prefix 10.0.0.5/32, already on line 2\n"),
    ERR("address,host\n2001:db8::/32,a\n2001:0db8:0::/32,b\n",
        NAME ":3: duplicate prefix 2001:db8::/32, already on line 2\n"),
    ERR("address,host\n0.0.0.0/0,a\n0.0.0.0/0,b\n0.0.0.0/0,c\n",
        NAME ":3: duplicate prefix 0.0.0.0/0, already on line 2\n" NAME
             ":4: duplicate prefix 0.0.0.0/0, already on line 2\n"),
    /* Host names. */
    ERR("address,host\n10.0.0.1,dc 01\n",
        NAME ":2: bad host name \"dc 01\": only letters, digits, '-', '.' and "
             "'_' are allowed\n"),
    ERR("address,host\n10.0.0.1,dc01/x\n",
        NAME ":2: bad host name \"dc01/x\": only letters, digits, '-', '.' "
             "and '_' are allowed\n"),
    ERR("address,host\n10.0.0.1,"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        NAME ":2: host name longer than 253 characters\n"),
    /* Fields and CSV syntax. */
    ERR("address,host,role\n10.0.0.1,a,b,c\n",
        NAME ":2: 4 fields, but the header has 3 columns\n"),
    ERR("address,host\n10.0.0.1,a,\n",
        NAME ":2: 3 fields, but the header has 2 columns\n"),
    ERR("address,host\n10.0.0.1,\"dc01\n",
        NAME ":2: unterminated quoted field\n"),
    ERR("address,host,note\n10.0.0.1,dc01,\"two\nlines\"\n",
        NAME ":2: unterminated quoted field\n" NAME
             ":3: quote inside an unquoted field\n"),
    ERR("address,host\n10.0.0.1,\"dc01\"x\n",
        NAME ":2: unexpected character after a closing quote\n"),
    ERR("address,host\n10.0.0.1,dc\"01\"\n",
        NAME ":2: quote inside an unquoted field\n"),
    ERR("address,host\n10.0.0.1,dc01\r10.0.0.2,dc02\n",
        NAME ":2: carriage return not followed by a line feed\n"),
    ERR("address,host\n10.0.0.1,dc\0"
        "01\n",
        NAME ":2: NUL character in the line\n"),
    ERR("address,\"host\n",
        NAME ":1: unterminated quoted field\n" NAME ":1: " HEADER_ERR "\n"),
};

/* Every error of a file, in line order, in one report. */
static const char all_errors_csv[] =
    "# inventory with one error on most lines\n"
    "address,host,role,Role,bad name\n"
    "10.0.0.0/8,ten,a,b,c\n"
    "10.0.0.1/8,x\n"
    "10.0.0.0/33,x\n"
    "10.0.0.300,x\n"
    "10.0.0.0/8,again\n"
    "10.0.0.2,bad host\n"
    "bogus,bad host\n"
    "10.0.0.3,a,b,c,d,e\n"
    "10.0.0.4,\"unterminated\n"
    "10.0.0.5,fine\n";

static const char all_errors_want[] = NAME
    ":2: duplicate tag name \"role\" in columns 3 and 4\n" NAME
    ":2: bad tag name \"bad name\": only letters, digits and '_' are "
    "allowed\n" NAME
    ":4: host bits set in \"10.0.0.1/8\": the network is 10.0.0.0/8\n" NAME
    ":5: bad prefix length in \"10.0.0.0/33\": IPv4 allows /0 to /32\n" NAME
    ":6: bad address \"10.0.0.300\"\n" NAME
    ":7: duplicate prefix 10.0.0.0/8, already on line 3\n" NAME
    ":8: bad host name \"bad host\": only letters, digits, '-', '.' and "
    "'_' are allowed\n" NAME ":9: bad address \"bogus\"\n" NAME
    ":9: bad host name \"bad host\": only letters, digits, '-', '.' and "
    "'_' are allowed\n" NAME
    ":10: 6 fields, but the header has 5 columns\n" NAME
    ":11: unterminated quoted field\n";

static void
test_errors(void)
{
	char err[4096];

	for (size_t i = 0; i < sizeof(error_cases) / sizeof(*error_cases);
	     i++) {
		const struct error_case *c = &error_cases[i];
		struct inventory *inv;

		inv = parse(c->text, c->len, err, sizeof(err));
		CHECKF(inv == NULL && strcmp(err, c->err) == 0,
		    "case %zu:\n got: %s\nwant: %s", i, err, c->err);
		inventory_unref(inv);
	}
	CHECKF(parse(S(all_errors_csv), err, sizeof(err)) == NULL &&
	        strcmp(err, all_errors_want) == 0,
	    "all errors:\n got: %s\nwant: %s", err, all_errors_want);

	/* A short buffer keeps what fits, terminated; NULL is allowed. */
	memset(err, 'x', sizeof(err));
	CHECK(parse(S(all_errors_csv), err, 20) == NULL);
	CHECK(strlen(err) == 19 && strncmp(err, NAME ":2: dup", 11) == 0);
	CHECK(parse(S(all_errors_csv), NULL, 0) == NULL);
	CHECK(parse(S(all_errors_csv), err, 0) == NULL);

	/* At most 64 tag columns; 64 is fine. */
	{
		struct inventory *inv;
		char text[1024];
		size_t len;

		len = (size_t)snprintf(text, sizeof(text), "address,host");
		for (int i = 0; i < 64; i++)
			len += (size_t)snprintf(
			    text + len, sizeof(text) - len, ",t%d", i);
		snprintf(text + len, sizeof(text) - len, "\n10.0.0.1,a\n");
		inv = parse(text, strlen(text), err, sizeof(err));
		CHECKF(inv != NULL, "64 tags: %s", err);
		CHECK(strcmp(tag_of(lookup(inv, "10.0.0.1"), "t63"), "") == 0);
		inventory_unref(inv);
		snprintf(text + len, sizeof(text) - len, ",t64\n10.0.0.1,a\n");
		CHECKF(parse(text, strlen(text), err, sizeof(err)) == NULL &&
		        strcmp(err, NAME ":1: more than 64 tag columns\n") == 0,
		    "65 tags: %s", err);
	}

	/* A bad field shows at most 64 bytes. */
	{
		char text[512], want[256];
		char field[201];

		memset(field, '9', 200);
		field[200] = '\0';
		snprintf(text, sizeof(text), "address,host\n%s,x\n", field);
		snprintf(want, sizeof(want), NAME ":2: bad address \"%.64s\"\n",
		    field);
		CHECKF(parse(text, strlen(text), err, sizeof(err)) == NULL &&
		        strcmp(err, want) == 0,
		    "long field: %s", err);
	}
}

static void
test_refs(void)
{
	struct inventory *inv, *again;
	char err[256];

	inv = parse(S("address,host\n10.0.0.1,a\n"), err, sizeof(err));
	CHECK(inv != NULL);
	again = inventory_ref(inv);
	CHECK(again == inv);
	inventory_unref(inv);
	/* Still alive through the second reference. */
	CHECK(strcmp(host_of(again, "10.0.0.1"), "a") == 0);
	inventory_unref(again);
	inventory_unref(NULL);
	CHECK(inventory_ref(NULL) == NULL);
	CHECK(inventory_size(NULL) == 0);
	CHECK(inventory_lookup(NULL, NULL) == NULL);
	{
		struct sockaddr sa;

		inv = parse(
		    S("address,host\n::/0,a\n0.0.0.0/0,b\n"), err, sizeof(err));
		memset(&sa, 0, sizeof(sa));
		sa.sa_family = AF_UNIX;
		CHECK(inventory_lookup(inv, &sa) == NULL);
		CHECK(inventory_lookup(inv, NULL) == NULL);
		inventory_unref(inv);
	}
}

static void
test_load(void)
{
	char dir[] = "/tmp/test_inventory.XXXXXX", path[256], want[512];
	char err[1024];
	struct inventory *inv;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/hosts.csv", dir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs("address,host,role\n10.0.0.1,dc01.corp.example,dc\n", f);
	fputs("10.0.0.0/8,,corp\n", f);
	fclose(f);
	inv = inventory_load(path, err, sizeof(err));
	CHECKF(inv != NULL, "%s", err);
	CHECK(inventory_size(inv) == 2);
	CHECK(strcmp(host_of(inv, "10.0.0.1"), "dc01.corp.example") == 0);
	CHECK(strcmp(tag_of(lookup(inv, "10.9.0.1"), "role"), "corp") == 0);
	inventory_unref(inv);

	/* Errors name the file. */
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs("address,host\n10.0.0.1/8,x\n", f);
	fclose(f);
	snprintf(want, sizeof(want),
	    "%s:2: host bits set in \"10.0.0.1/8\": the network is "
	    "10.0.0.0/8\n",
	    path);
	CHECKF(inventory_load(path, err, sizeof(err)) == NULL &&
	        strcmp(err, want) == 0,
	    "got %s", err);
	unlink(path);

	snprintf(want, sizeof(want),
	    "%s: cannot read: No such file or directory\n", path);
	CHECKF(inventory_load(path, err, sizeof(err)) == NULL &&
	        strcmp(err, want) == 0,
	    "got %s", err);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory\n", dir);
	CHECKF(inventory_load(dir, err, sizeof(err)) == NULL &&
	        strcmp(err, want) == 0,
	    "got %s", err);
	rmdir(dir);
}

/* A synthetic inventory: rows of random prefixes. */
#define BIG_ROWS    100000
#define BIG_PROBES  2000
#define BIG_TIMINGS 1000000

struct big_row {
	int v6;
	unsigned plen;
	unsigned char b[16];
	int line;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
mask_bytes(unsigned char *b, size_t n, unsigned plen)
{
	for (size_t i = 0; i < n; i++) {
		unsigned lo = 8 * (unsigned)i;

		if (plen <= lo)
			b[i] = 0;
		else if (plen < lo + 8)
			b[i] &= (unsigned char)(0xff << (8 - (plen - lo)));
	}
}

static bool
prefix_contains(
    const unsigned char *net, unsigned plen, const unsigned char *addr)
{
	unsigned full = plen / 8, rest = plen % 8;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	if (memcmp(net, addr, full) != 0)
		return false;
	return rest == 0 || ((net[full] ^ addr[full]) & mask) == 0;
}

static int
big_row_cmp(const void *a, const void *b)
{
	const struct big_row *x = a, *y = b;
	int c;

	if (x->v6 != y->v6)
		return x->v6 - y->v6;
	if ((c = memcmp(x->b, y->b, 16)) != 0)
		return c;
	return (int)x->plen - (int)y->plen;
}

/*
 * A random row: IPv4 prefixes inside 10.0.0.0/12 and IPv6 ones inside
 * 2001:db8::/32, so that they nest and the longest prefix matters.
 */
static void
big_row_make(struct big_row *r)
{
	static const unsigned plen4[] = {
	    8, 12, 16, 20, 22, 24, 26, 28, 30, 32, 32, 32};
	static const unsigned plen6[] = {
	    32, 40, 48, 56, 64, 64, 80, 96, 112, 120, 128, 128};
	uint64_t x = rng(), y = rng();

	memset(r, 0, sizeof(*r));
	r->v6 = (x & 3) == 0;
	if (!r->v6) {
		r->b[0] = 10;
		r->b[1] = (unsigned char)(y & 0x0f);
		r->b[2] = (unsigned char)(y >> 8);
		r->b[3] = (unsigned char)(y >> 16);
		r->plen = plen4[(x >> 8) % 12];
		mask_bytes(r->b, 4, r->plen);
	} else {
		r->b[0] = 0x20;
		r->b[1] = 0x01;
		r->b[2] = 0x0d;
		r->b[3] = 0xb8;
		r->b[4] = (unsigned char)(y & 0x03);
		r->b[5] = (unsigned char)(y >> 8 & 0x03);
		r->b[7] = (unsigned char)(y >> 16 & 0x0f);
		for (int i = 8; i < 16; i++)
			r->b[i] = (unsigned char)(rng() & 0x07);
		r->plen = plen6[(x >> 8) % 12];
		mask_bytes(r->b, 16, r->plen);
	}
}

/* The line of the longest row containing <addr>, or 0. */
static int
big_naive(
    const struct big_row *rows, size_t n, int v6, const unsigned char *addr)
{
	unsigned best_plen = 0;
	int best = 0;

	for (size_t i = 0; i < n; i++)
		if (rows[i].v6 == v6 &&
		    (best == 0 || rows[i].plen > best_plen) &&
		    prefix_contains(rows[i].b, rows[i].plen, addr)) {
			best = rows[i].line;
			best_plen = rows[i].plen;
		}
	return best;
}

static double
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void
test_big(void)
{
	size_t ncand = BIG_ROWS * 5 / 2, n = 0, cap, len = 0;
	struct big_row *rows;
	struct sockaddr_in6 *probes;
	struct inventory *inv;
	struct timespec t0, t1;
	char *text, err[1024];
	unsigned wrong = 0, hits = 0;
	size_t found = 0;

	rows = calloc(ncand, sizeof(*rows));
	probes = calloc(BIG_PROBES, sizeof(*probes));
	cap = (size_t)BIG_ROWS * 96 + 64;
	text = malloc(cap);
	if (rows == NULL || probes == NULL || text == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < ncand; i++)
		big_row_make(&rows[i]);
	qsort(rows, ncand, sizeof(*rows), big_row_cmp);
	for (size_t i = 0; i < ncand; i++)
		if (n == 0 || big_row_cmp(&rows[n - 1], &rows[i]) != 0)
			rows[n++] = rows[i];
	CHECKF(n >= BIG_ROWS, "only %zu distinct rows", n);
	/* Shuffle, so that the rows are not inserted in order. */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		struct big_row t = rows[i];

		rows[i] = rows[j];
		rows[j] = t;
	}
	if (n > BIG_ROWS)
		n = BIG_ROWS;
	len += (size_t)snprintf(text, cap, "address,host,role,owner\n");
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(
		    rows[i].v6 ? AF_INET6 : AF_INET, rows[i].b, a, sizeof(a));
		rows[i].line = (int)i + 2;
		len += (size_t)snprintf(text + len, cap - len,
		    "%s/%u,h%zu.corp.example,role%zu,team%zu\n", a,
		    rows[i].plen, i, i % 7, i % 13);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	inv = parse(text, len, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECKF(inv != NULL, "%s", err);
	if (inv == NULL)
		goto done;
	printf("%zu rows (%zu bytes) parsed in %.1f ms\n", n, len,
	    elapsed_ms(&t0, &t1));
	CHECK(inventory_size(inv) == n);

	/* Probes: half inside a random row, half anywhere in the space. */
	for (size_t i = 0; i < BIG_PROBES; i++) {
		struct sockaddr_in6 *p = &probes[i];
		struct big_row r;

		if (i % 2 == 0) {
			r = rows[rng() % n];
			for (unsigned bit = r.plen; bit < (r.v6 ? 128U : 32U);
			     bit++)
				if (rng() & 1)
					r.b[bit >> 3] |=
					    (unsigned char)(0x80 >> (bit & 7));
		} else {
			big_row_make(&r);
			for (unsigned bit = r.plen; bit < (r.v6 ? 128U : 32U);
			     bit++)
				if (rng() & 1)
					r.b[bit >> 3] |=
					    (unsigned char)(0x80 >> (bit & 7));
		}
		memset(p, 0, sizeof(*p));
		p->sin6_family = AF_INET6;
		if (r.v6) {
			memcpy(p->sin6_addr.s6_addr, r.b, 16);
		} else {
			/* IPv4 probes go in mapped; checked plain below. */
			p->sin6_addr.s6_addr[10] = 0xff;
			p->sin6_addr.s6_addr[11] = 0xff;
			memcpy(p->sin6_addr.s6_addr + 12, r.b, 4);
		}
	}
	for (size_t i = 0; i < BIG_PROBES; i++) {
		const struct sockaddr_in6 *p = &probes[i];
		const unsigned char *a = p->sin6_addr.s6_addr;
		int v6 = !IN6_IS_ADDR_V4MAPPED(&p->sin6_addr);
		int want = big_naive(rows, n, v6, v6 ? a : a + 12);
		const struct inventory_entry *e;
		int got;

		e = inventory_lookup(inv, (const struct sockaddr *)p);
		got = e == NULL ? 0 : e->line;
		if (got != want)
			wrong++;
		hits += want != 0;
		if (!v6) {
			struct sockaddr_in sin;

			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			memcpy(&sin.sin_addr, a + 12, 4);
			e = inventory_lookup(inv, (struct sockaddr *)&sin);
			if ((e == NULL ? 0 : e->line) != want)
				wrong++;
		}
		if (e != NULL && want != 0) {
			size_t row = (size_t)want - 2;
			char host[64];

			snprintf(host, sizeof(host), "h%zu.corp.example", row);
			if (strcmp(e->host, host) != 0 || e->ntags != 2)
				wrong++;
		}
	}
	CHECKF(wrong == 0, "%u of %d lookups disagree with a naive scan", wrong,
	    BIG_PROBES);
	CHECKF(hits > BIG_PROBES / 2, "only %u probes matched a row", hits);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < BIG_TIMINGS; i++)
		found +=
		    inventory_lookup(inv,
		        (const struct sockaddr *)&probes[i % BIG_PROBES]) !=
		    NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%d lookups (%zu found) in %.1f ms: %.0f ns each\n", BIG_TIMINGS,
	    found, elapsed_ms(&t0, &t1),
	    elapsed_ms(&t0, &t1) * 1e6 / BIG_TIMINGS);
	inventory_unref(inv);
done:
	free(text);
	free(probes);
	free(rows);
}

int
main(void)
{
	test_longest_prefix();
	test_default_routes();
	test_mapped_rows();
	test_tags();
	test_csv_syntax();
	test_crlf();
	test_errors();
	test_refs();
	test_load();
	test_big();
	return check_done();
}
