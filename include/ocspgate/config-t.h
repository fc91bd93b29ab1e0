/*
 * The configuration's types: struct config and what it holds, with the
 * defaults of its settings. Types only, for every module that reads a
 * config (the judgments, the event line, the runtime); loading one is
 * config.h's.
 */
#ifndef OCSPGATE_CONFIG_T_H
#define OCSPGATE_CONFIG_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ocspgate/alert.h"
#include "ocspgate/cidr.h"
#include "ocspgate/ocsp_request.h"

struct inventory;

#define CONFIG_DEFAULT_PATH                  "/etc/ocspgate/ocspgate.conf"
#define CONFIG_DEFAULT_EVENT_LOG             "-"
#define CONFIG_DEFAULT_HOSTS_FILE            "/etc/hosts"
#define CONFIG_DEFAULT_MAX_REQUEST_BODY      16384
#define CONFIG_DEFAULT_MAX_HEADER_BYTES      16384
#define CONFIG_DEFAULT_CLIENT_TIMEOUT        30
#define CONFIG_DEFAULT_UPSTREAM_TIMEOUT      10
#define CONFIG_DEFAULT_MAX_NONCE_BYTES       32
#define CONFIG_DEFAULT_MAX_CONNECTIONS       10000
#define CONFIG_DEFAULT_MAX_CONN_PER_SOURCE   256
#define CONFIG_DEFAULT_SOURCE_IPV6_PREFIX    64
#define CONFIG_DEFAULT_DRAIN_TIMEOUT         10
#define CONFIG_DEFAULT_MAX_RESPONSE_BODY     65536
#define CONFIG_DEFAULT_MAX_CRL_BYTES         (20 * 1024 * 1024)
#define CONFIG_DEFAULT_PORT                  80
#define CONFIG_DEFAULT_UPSTREAM_IDLE_MAX     256 /* per worker */
#define CONFIG_DEFAULT_UPSTREAM_IDLE_TIMEOUT 10
#define CONFIG_DEFAULT_CACHE_SIZE            (32 * 1024 * 1024)
#define CONFIG_DEFAULT_CACHE_MAX_AGE         (3 * 24 * 3600)
#define CONFIG_DEFAULT_METRIC_INTERVAL       60
#define CONFIG_DEFAULT_EVENT_QUEUE           (4 * 1024 * 1024)
#define CONFIG_DEFAULT_EVENT_LOG_MAX_LINE    65536
#define CONFIG_DEFAULT_SYSLOG_MAX_MESSAGE    65000
#define CONFIG_WORKERS_MAX                   64
#define CONFIG_DEFAULT_SYSLOG_FACILITY       3 /* daemon */
#define CONFIG_DEFAULT_CA_FILE               "/etc/ssl/certs/ca-certificates.crt"

enum mode { MODE_ENFORCE = 0, MODE_MONITOR };

/* "enforce" or "monitor" (pure: defined with the policy). */
const char *mode_name(enum mode m);

/* How a listener learns where an origin-form request was going. */
enum listen_transparent {
	LISTEN_REDIRECT = 0, /* SO_ORIGINAL_DST when the kernel redirected */
	LISTEN_TPROXY,       /* IP_TRANSPARENT: the socket's local address */
	LISTEN_EXPLICIT      /* never: explicit proxy only */
};

struct listen_addr {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *text; /* as written, e.g. "[::1]:3128" */
	int line;
	enum listen_transparent transparent;
	bool proxy_protocol;     /* a PROXY header precedes each connection */
	struct cidr *proxy_from; /* who may send it */
	size_t nproxy_from;
};

/*
 * One allowed OCSP responder. host is lowercase without a trailing dot;
 * for "*.example.net", wildcard is true and host is "example.net"; an
 * IPv6 literal is stored without brackets, as inet_ntop() writes it.
 * path is the prefix without a trailing '/', "" when none was given.
 */
struct responder {
	char *spec; /* host[:port][/path] as written, for the event log */
	char *host;
	bool wildcard;
	uint16_t port;
	char *path;
	size_t path_len;
	struct ocsp_issuer *issuers;
	size_t nissuers;
	STACK_OF(X509) * issuer_certs; /* the same, whole; NULL if none */
	X509_STORE *store;        /* with verify_responses: ca_file + issuers */
	STACK_OF(X509) * trusted; /* the same certificates, as a list */
	int line;
};

/* A DNS server to ask instead of those of /etc/resolv.conf. */
struct resolver_addr {
	char *text; /* "127.0.0.1:53", "[::1]:5353" */
	int line;
};

struct config {
	_Atomic unsigned refs; /* shared by worker threads */
	/* Set before the config is shared: later loads have larger ones. */
	unsigned long generation;
	char *path;
	struct listen_addr *listen;
	size_t nlisten;
	enum mode mode;
	char *event_log;  /* "-" is stdout */
	char *hosts_file; /* "" disables */
	struct resolver_addr *resolvers;
	size_t nresolvers;
	struct responder *responders;
	size_t nresponders;
	size_t max_request_body;
	size_t max_header_bytes;
	size_t max_nonce_bytes;
	bool allow_requestor_name;  /* OCSP requests may name a requestor */
	bool allow_signed_requests; /* ... may be signed */
	bool allow_service_locator; /* ... may carry a service locator */
	unsigned client_timeout_sec;
	unsigned upstream_timeout_sec;
	bool block_host_mismatch;    /* on_host_mismatch = "block" */
	bool block_unverified;       /* unverified_answers = "block" */
	uint32_t upstream_mark;      /* SO_MARK on upstream sockets; 0: none */
	struct inventory *inventory; /* NULL when none is configured */
	bool reverse_dns;
	unsigned max_connections;            /* open client connections */
	unsigned max_connections_per_source; /* 0: no limit */
	unsigned source_ipv6_prefix;         /* IPv6 sources grouped per /N */
	unsigned drain_timeout_sec; /* SIGTERM: how long to wait for requests */
	char *user;                 /* drop to it once listening; NULL: stay */
	char *group;
	size_t max_response_body; /* OCSP reply body inspected */
	bool verify_responses;
	char *ca_file;
	STACK_OF(X509) * ca_certs; /* from ca_file */
	/*
	 * Monitor mode: the trust store candidates' answers are checked
	 * against, ca_file or else CONFIG_DEFAULT_CA_FILE; NULL when there
	 * is none (enforce mode, or no readable bundle).
	 */
	X509_STORE *candidate_store;
	STACK_OF(X509) * candidate_cas; /* the same certificates */
	/* Hosts (same syntax as responders) of the other fetch classes. */
	struct responder *crl_hosts;
	size_t ncrl_hosts;
	struct responder *ca_issuer_hosts;
	size_t nca_issuer_hosts;
	struct responder *ctl_hosts;
	size_t nctl_hosts;
	size_t max_crl_bytes;       /* and issuer certificates, trust lists */
	unsigned workers;           /* threads; 0: one per CPU */
	unsigned upstream_idle_max; /* idle upstream connections kept */
	unsigned upstream_idle_timeout_sec;
	size_t cache_size; /* RFC 5019 cache bytes, all workers; 0: off */
	unsigned cache_max_age_sec; /* no answer kept longer */
	char *event_syslog;         /* "udp://host:port", ...; NULL: none */
	int syslog_facility;        /* RFC 5424 facility number */
	size_t event_queue_bytes;   /* per output and worker */
	size_t event_log_max_line;  /* longer event lines are shortened */
	size_t event_syslog_max_message; /* the same, per syslog message */
	unsigned metric_interval_sec;    /* periodic metric events; 0: none */
	char *admin_listen;              /* "127.0.0.1:9180"; NULL: none */
	struct sockaddr_storage admin_addr;
	socklen_t admin_addr_len;
	struct alert_config alerts; /* thresholds, 0 turns one off */
	char **notes; /* what loading learned (pki_certs), for -t */
	size_t nnotes;
	/*
	 * The CAs whose CRL and trust-list signatures can be checked:
	 * ca_file, the CA certificates of pki_certs, every issuers file.
	 * known_cas lists them (for a CRL's issuer, found by name),
	 * known_store holds them (for a chain); both NULL when none.
	 */
	STACK_OF(X509) * pki_cas;
	STACK_OF(X509) * known_cas;
	X509_STORE *known_store;
};

#endif
