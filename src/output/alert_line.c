#include "ocspgate/alert_line.h"
#include "ocspgate/event.h"
#include "ocspgate/json.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Writes a non-negative number with three decimals. The JSON writer has
 * no floating point, so the integer part goes through json_uint() (which
 * places the key and comma) and the fraction is appended raw.
 */
static void
alert_line_fixed3(struct json *j, const char *key, double v)
{
	char frac[8];
	uint64_t m;

	if (!(v >= 0))
		v = 0;
	if (v > 1e15)
		v = 1e15;
	m = (uint64_t)(v * 1000 + 0.5);
	json_uint(j, key, m / 1000);
	snprintf(frac, sizeof(frac), ".%03u", (unsigned)(m % 1000));
	json_raw(j, frac, 4);
}

/* True when <s> is an IPv4 or IPv6 address literal. */
static bool
alert_line_is_ip_literal(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1;
}

void
alert_format(struct json *j, const struct alert *a, const struct timespec *ts,
    const char *source_ip, const char *source_domain, const char *version)
{
	/*
	 * An alert informs: ocspgate neither blocks nor lets through because
	 * of it, so its type is "info", which ECS expects of both its
	 * categories (its "indicator" is for the threat category only).
	 */
	static const struct event_class c = {
	    .kind = "alert",
	    .category = {"network", "intrusion_detection"},
	    .type = {"info"},
	    .action = "alert",
	};
	struct event_class k = c;
	const char *ips[2], *hosts[2];
	size_t nips = 0, nhosts = 0;
	bool literal = a->dest[0] != '\0' && alert_line_is_ip_literal(a->dest);

	k.reason = alert_kind_name(a->kind);
	event_begin(j, ts, &k, version);

	json_object_begin(j, "source");
	json_cstring(j, "ip", source_ip);
	if (source_domain != NULL)
		json_cstring(j, "domain", source_domain);
	json_object_end(j);

	if (a->dest[0] != '\0') {
		json_object_begin(j, "destination");
		json_cstring(j, literal ? "ip" : "domain", a->dest);
		json_object_end(j);
	}

	json_object_begin(j, "ocspgate");
	json_object_begin(j, "alert");
	json_cstring(j, "scope", a->scope);
	if (a->source.family == AF_INET6 && a->source_prefix > 0) {
		char net[INET6_ADDRSTRLEN + 8];

		if (inet_ntop(AF_INET6, a->source.addr, net, sizeof(net)) !=
		    NULL) {
			size_t l = strlen(net);

			snprintf(
			    net + l, sizeof(net) - l, "/%u", a->source_prefix);
			json_cstring(j, "source_prefix", net);
		}
	}
	json_uint(j, "observed", a->observed);
	json_uint(j, "threshold", a->threshold);
	json_uint(j, "window", a->window_sec);
	if (a->kind == ALERT_PERIODIC) {
		alert_line_fixed3(j, "mean_interval", a->mean_interval);
		alert_line_fixed3(j, "median_interval", a->median_interval);
		alert_line_fixed3(j, "jitter", a->jitter);
		alert_line_fixed3(j, "cv", a->cv);
		alert_line_fixed3(j, "score", a->score);
		json_uint(j, "samples", a->samples);
	}
	if (a->kind == ALERT_EARLY_REQUERY) {
		json_hex(j, "serial", a->serial, a->serial_len);
		json_int(j, "next_update_in", a->next_update_in);
	}
	json_object_end(j);
	json_object_end(j);

	event_related_add(ips, &nips, 2, source_ip);
	if (literal)
		event_related_add(ips, &nips, 2, a->dest);
	event_related_add(hosts, &nhosts, 2, source_domain);
	if (a->dest[0] != '\0' && !literal)
		event_related_add(hosts, &nhosts, 2, a->dest);
	event_related(j, ips, nips, hosts, nhosts);

	json_object_end(j);
	json_raw(j, "\n", 1);
}
