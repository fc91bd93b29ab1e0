/*
 * Reverse DNS cache: one slot per hash of the address, PTR lookups with
 * evdns. A slot busy with a lookup is never evicted; its lookup holds a
 * reference to the resolver it started on, so a reload cannot free it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "ocspgate/cidr.h"
#include "ocspgate/hash.h"
#include "ocspgate/rdns.h"
#include "ocspgate/resolver.h"

struct rdns_slot {
	struct rdns_cache *cache;
	int family; /* 0: empty */
	unsigned char addr[16];
	char name[256]; /* "" when the address has none */
	time_t expires;
	bool busy;                 /* a lookup is in flight */
	struct evdns_request *req; /* its handle, once known */
	struct resolver *res;      /* its resolver */
};

struct rdns_cache {
	struct rdns_slot slots[RDNS_CACHE_SLOTS];
};

struct rdns_cache *
rdns_new(void)
{
	struct rdns_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < RDNS_CACHE_SLOTS; i++)
		c->slots[i].cache = c;
	return c;
}

void
rdns_cancel(struct rdns_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < RDNS_CACHE_SLOTS; i++) {
		struct rdns_slot *s = &c->slots[i];

		if (s->busy && s->req != NULL)
			evdns_cancel_request(s->res->dns, s->req);
		s->req = NULL;
	}
}

void
rdns_free(struct rdns_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < RDNS_CACHE_SLOTS; i++)
		resolver_unref(c->slots[i].res);
	free(c);
}

static size_t
rdns_hash(int family, const unsigned char addr[16])
{
	return hash_fnv1a32(HASH_FNV32_INIT, addr, family == AF_INET ? 4 : 16) %
	    RDNS_CACHE_SLOTS;
}

/*
 * Keeps a PTR name only if it is an ordinary host name (letters, digits,
 * '-', '_', dots between labels), lowercased and without a trailing dot:
 * the answer comes from whoever controls the reverse zone.
 */
static void
rdns_copy_name(char *out, size_t cap, const char *name)
{
	size_t n = strlen(name);

	out[0] = '\0';
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap || name[0] == '.')
		return;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_' ||
		        (c == '.' && name[i + 1] != '.')))
			return;
		out[i] = c;
	}
	out[n] = '\0';
}

static void
rdns_on_answer(
    int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct rdns_slot *s = arg;

	if (result == DNS_ERR_CANCEL || result == DNS_ERR_SHUTDOWN)
		return; /* the cache is going away */
	s->busy = false;
	s->req = NULL;
	resolver_unref(s->res);
	s->res = NULL;
	s->name[0] = '\0';
	if (result == DNS_ERR_NONE && type == DNS_PTR && count > 0 &&
	    addresses != NULL) {
		rdns_copy_name(
		    s->name, sizeof(s->name), *(const char *const *)addresses);
		if (ttl < RDNS_TTL_MIN_SEC)
			ttl = RDNS_TTL_MIN_SEC;
		if (ttl > RDNS_TTL_MAX_SEC)
			ttl = RDNS_TTL_MAX_SEC;
	} else {
		ttl = RDNS_NEGATIVE_SEC;
	}
	s->expires = time(NULL) + ttl;
}

const char *
rdns_get(struct rdns_cache *c, struct resolver *r, const struct sockaddr *sa,
    time_t now, bool start)
{
	unsigned char addr[16];
	int family = cidr_key(sa, addr);
	struct evdns_request *req;
	struct rdns_slot *s;

	if (family == 0)
		return NULL;
	s = &c->slots[rdns_hash(family, addr)];
	if (s->family == family && memcmp(s->addr, addr, 16) == 0) {
		if (s->busy)
			return NULL; /* asked already */
		if (now < s->expires)
			return s->name[0] != '\0' ? s->name : NULL;
	} else if (s->busy) {
		return NULL; /* busy with another address */
	}
	if (!start)
		return NULL;
	s->family = family;
	memcpy(s->addr, addr, 16);
	s->name[0] = '\0';
	s->expires = 0;
	s->res = resolver_ref(r);
	s->busy = true;
	/* The answer may come before the call returns (no servers, say). */
	if (family == AF_INET)
		req = evdns_base_resolve_reverse(r->dns,
		    (const struct in_addr *)(const void *)addr,
		    DNS_QUERY_NO_SEARCH, rdns_on_answer, s);
	else
		req = evdns_base_resolve_reverse_ipv6(r->dns,
		    (const struct in6_addr *)(const void *)addr,
		    DNS_QUERY_NO_SEARCH, rdns_on_answer, s);
	if (s->busy && req != NULL) {
		s->req = req;
	} else if (s->busy) {
		s->busy = false;
		resolver_unref(s->res);
		s->res = NULL;
		s->expires = now + RDNS_NEGATIVE_SEC;
	}
	return NULL;
}
