/*
 * An alert as one line of the event log (ECS), written from what the
 * alert detectors (alert.h) found.
 */
#ifndef OCSPGATE_ALERT_LINE_H
#define OCSPGATE_ALERT_LINE_H

#include "ocspgate/alert.h"
#include "ocspgate/json.h"
#include <time.h>

/*
 * Writes <a> as one ECS JSON line into <j> (reset first), ending in '\n':
 * @timestamp from <ts> (wall clock), ecs.version, event.kind "alert"
 * (categories network and intrusion_detection, type info), event.reason
 * the kind's name, observer.* (observer.version <version> unless NULL),
 * source.ip <source_ip>, source.domain <source_domain> unless NULL,
 * destination.domain (or .ip for an address literal) when a->dest is
 * set, ocspgate.alert.* with the figures (and source_prefix,
 * "2001:db8:1:2::/64", when the key is an IPv6 block), and related.ip and
 * related.hosts with those addresses and names. On return j->failed
 * tells whether the line is usable.
 */
void alert_format(struct json *j, const struct alert *a,
    const struct timespec *ts, const char *source_ip, const char *source_domain,
    const char *version);

#endif
