/*
 * Fuzz target for the runtime, not only the parsers: the listener,
 * session, upstream, server, gate and event-log code of the daemon run on
 * one event loop in this thread, with a real config (the shipped policy's
 * shape), and the input is a script of what clients, upstream servers and
 * the DNS do. Clients and upstreams are real TCP sockets on loopback; this
 * harness plays all of them.
 *
 * The script. Byte 0 picks a config (FZ_VARIANTS of them, below). Each op
 * is then one byte, kind in the low nibble, argument <a> in the high one;
 * a client (or upstream) index is <a> modulo the connections made so far:
 *
 *   0 CONNECT   a new client: a&1 listener, a&2 from 127.0.0.2 (the
 *               inventory's host) instead of 127.0.0.1, a>>2 redirected
 *               from (0 not, 1 127.0.0.1:80, 2 192.0.2.7:80, 3
 *               127.0.0.1:8080) as SO_ORIGINAL_DST will say
 *   1 SEND c    a length n (one byte; when >= 0x80, 15 bits over two),
 *               then n bytes the client sends
 *   2 FILL c    a byte and a 16-bit big-endian count: that many copies
 *   3 SHUT c    client half-close (shutdown SHUT_WR)
 *   4 CLOSE c   client close
 *   5 RESET c   client reset (SO_LINGER 0, close)
 *   6 READ c    the client reads what it was sent so far
 *   7 ACCEPT    accept the next upstream connection the gate made
 *   8 USEND u   as SEND, from upstream connection u
 *   9 UFILL u   as FILL
 *   a USHUT u   upstream half-close
 *   b UCLOSE u  upstream close
 *   c URESET u  upstream reset
 *   d DNS       answer the lookups waiting: a&3 0 an address (127.0.0.1;
 *               for PTR a name), 1 NXDOMAIN, 2 SERVFAIL, 3 drop them
 *   e TIME      advance the clock by fz_steps[a], then run until idle
 *   f MISC      a: 0 run until idle, 1 one loop pass, 2 refuse the next
 *               upstream connect, 3 drain (as on SIGTERM), 4-7 reload
 *               to config a-4, 8 every client reads, 9 accept every
 *               upstream connection; others run until idle
 *
 * Nothing happens between ops unless the script runs the loop, so bytes
 * sent twice before a run arrive together (pipelining), a request and a
 * close can meet in one read, and so on. At most FZ_MAX_OPS ops and
 * FZ_MAX_SEND_BYTES bytes sent per input.
 *
 * What the runtime sees of the world, so that a run is deterministic and
 * never reaches beyond this process's own sockets:
 * - Time. clock_gettime(), gettimeofday() and time() are defined here:
 *   while an input runs (on this thread only) they return a clock that
 *   moves only when the script says (op TIME), and epoll_wait() never
 *   waits. A timer (client_timeout, upstream_timeout, idle, DNS,
 *   housekeeping) fires in the first loop pass after the clock passed
 *   its deadline, without sleeping.
 * - Randomness. getrandom() gives the same bytes for every input (the
 *   Via token, the memo and cache seeds).
 * - Network. Every name resolves to 127.0.0.1 (hosts file) or is asked
 *   of this harness's DNS socket; every TCP connect() the runtime makes
 *   to a loopback address goes to this harness's upstream listener, or to
 *   a bound port that does not listen when the script refuses it, and any
 *   other address fails as unreachable. No byte leaves loopback and no
 *   other process on the machine is ever connected to.
 * - Redirection. getsockopt(SO_ORIGINAL_DST) answers for connections the
 *   script said were redirected, as the kernel's NAT would.
 *
 * Invariants, checked after every input (each failure aborts):
 * - Each run of the loop goes idle: within FZ_MAX_PASSES passes, and
 *   never FZ_MAX_INNER_PASSES in a row with callbacks but no socket
 *   ready (no busy loop).
 * - Once the upstreams are closed and the clock moves past every timeout,
 *   every session is gone and every client connection was closed by the
 *   gate (nothing hangs).
 * - Every line of the event log is one complete, valid JSON object with
 *   an event.kind.
 * - What each client connection received parses (llhttp, strict) as one
 *   answer per event of that connection that has a status, in order and
 *   with that status; only the last may be cut short, and only when the
 *   gate closed the connection.
 * - What each upstream connection received parses as complete requests
 *   in origin-form with one Host, no Transfer-Encoding and at most one
 *   Content-Length; each one's method and path belong to a forwarded
 *   event (allowed, or a block monitor mode let through), at most twice
 *   per event (a GET retried once after a reused connection closed). So
 *   nothing reaches an upstream for a refused request.
 * - The process has as many descriptors after the input as before, and
 *   (under LeakSanitizer) no memory left allocated.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <llhttp.h>

#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/gate.h"
#include "ocspgate/json.h"
#include "ocspgate/listener.h"
#include "ocspgate/server.h"

#include "json_check.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

#define FZ_VARIANTS         4
#define FZ_MAX_CLIENTS      16
#define FZ_MAX_UPSTREAMS    64
#define FZ_MAX_LISTENERS    4
#define FZ_MAX_OPS          512
#define FZ_MAX_SEND_BYTES   (1u << 20)
#define FZ_MAX_PASSES       50000 /* loop passes in one run until idle */
#define FZ_MAX_INNER_PASSES 8000  /* of them with no outside event */
#define FZ_SETTLE_ROUNDS    32
#define FZ_SETTLE_STEP_SEC  60
#define FZ_RECORD_MAX       (8u << 20) /* bytes kept of one connection */
#define FZ_START_MONO_SEC   1000000
/* The day the recorded corpus was captured: its answers expire that day. */
#define FZ_START_WALL_SEC 1796601600 /* 2026-12-07T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How far op TIME moves the clock, in milliseconds. */
static const uint64_t fz_steps[16] = {250, 1000, 2000, 3000, 4000, 5000, 6000,
    10000, 11000, 30000, 31000, 60000, 300000, 3600000, 86400000,
    7 * 86400000ULL};

/* ------------------------------------------------------------------ */
/* Failures */

static void __attribute__((noreturn, format(printf, 1, 2)))
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_runtime: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ------------------------------------------------------------------ */
/* The world the runtime sees (see the top of the file) */

struct fz_world {
	bool ready;
	char dir[200];
	char hosts[256];
	char events[256];
	char inventory[256];
	int up_fd;     /* plays every upstream server */
	int refuse_fd; /* bound, not listening: connections are refused */
	int dns_fd;    /* the only DNS server */
	uint16_t up_port, refuse_port, dns_port;
	struct config *cfg[FZ_VARIANTS];
};

static struct fz_world fz_w;
static struct fz_input *fz_in; /* the input running, for getsockopt() */

/* An input handed to the runtime's thread. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	const uint8_t *data;
	size_t size;
	bool ready, done;
} fz_job = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Set while an input runs, on its thread: the fake clock and network. */
static _Thread_local bool fz_active;
static struct timespec fz_mono, fz_wall;
static uint64_t fz_rng;
static int fz_epoll_ready;     /* what the last epoll_wait() returned */
static unsigned fz_dispatches; /* epoll_wait() calls: loop passes */
static unsigned fz_run_start;  /* fz_dispatches when the run began */
static unsigned fz_inner;      /* passes in a row with no socket ready */
static bool fz_busy;           /* a run was stopped: still busy */
static bool fz_refuse_next;    /* the next upstream connect is refused */
static bool fz_refuse_all;     /* every upstream connect is refused */
static uint64_t fz_connects;   /* upstream connects the runtime made */

static int
fz_sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, sa, len);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	if (fz_active) {
		switch (id) {
		case CLOCK_REALTIME:
		case CLOCK_REALTIME_COARSE:
		case CLOCK_TAI:
			*ts = fz_wall;
			return 0;
		case CLOCK_MONOTONIC:
		case CLOCK_MONOTONIC_COARSE:
		case CLOCK_MONOTONIC_RAW:
		case CLOCK_BOOTTIME:
			*ts = fz_mono;
			return 0;
		default:
			break; /* CPU-time clocks */
		}
	}
	return (int)syscall(SYS_clock_gettime, id, ts);
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (time_t)-1;
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	unsigned char *p = buf;

	if (!fz_active)
		return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
	for (size_t i = 0; i < len; i++) {
		/* xorshift64: any fixed sequence will do. */
		fz_rng ^= fz_rng << 13;
		fz_rng ^= fz_rng >> 7;
		fz_rng ^= fz_rng << 17;
		p[i] = (unsigned char)fz_rng;
	}
	return (ssize_t)len;
}

static void fz_break(void);

/*
 * libevent's loop goes on while callbacks are active, even when told not
 * to block: a callback that keeps making work would never hand back to
 * the harness. Passes are counted here, and such a loop stopped.
 */
int
epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	int n;

	if (fz_active)
		timeout = 0; /* time moves only when the script says */
	n = (int)syscall(
	    SYS_epoll_pwait, epfd, events, maxevents, timeout, NULL, (size_t)8);
	if (fz_active) {
		fz_epoll_ready = n;
		fz_dispatches++;
		fz_inner = n > 0 ? 0 : fz_inner + 1;
		if (fz_inner >= FZ_MAX_INNER_PASSES ||
		    fz_dispatches - fz_run_start >= FZ_MAX_PASSES)
			fz_break();
	}
	return n;
}

int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	struct sockaddr_in to;
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (!fz_active || sa == NULL || sa->sa_family == AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM)
		return fz_sys_connect(fd, sa, len);
	if (sa->sa_family == AF_INET && len >= sizeof(to)) {
		uint32_t a;

		memcpy(&to, sa, sizeof(to));
		a = ntohl(to.sin_addr.s_addr);
		if ((a >> 24) == 127 || a == INADDR_ANY) {
			to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			to.sin_port = htons(fz_refuse_next || fz_refuse_all
			        ? fz_w.refuse_port
			        : fz_w.up_port);
			fz_refuse_next = false;
			fz_connects++;
			return fz_sys_connect(
			    fd, (const struct sockaddr *)&to, sizeof(to));
		}
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6) &&
	    IN6_IS_ADDR_LOOPBACK(
	        &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr)) {
		errno = ECONNREFUSED; /* nothing of ours listens on ::1 */
		return -1;
	}
	errno = ENETUNREACH;
	return -1;
}

static int fz_original_dst(int fd, void *val, socklen_t *len);

int
getsockopt(
    int fd, int level, int name, void *restrict val, socklen_t *restrict len)
{
	if (fz_active && fz_in != NULL &&
	    ((level == SOL_IP && name == SO_ORIGINAL_DST) ||
	        (level == SOL_IPV6 && name == SO_ORIGINAL_DST)))
		return fz_original_dst(fd, val, len);
	return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

/* ------------------------------------------------------------------ */
/* Configs: the shipped policy's shape, every name on loopback */

/* Names with a fixed address in the hosts file (wildcards ask DNS). */
static const char *const fz_names[] = {"ocsp.digicert.com",
    "status.geotrust.com", "ocsp.sectigo.com", "zerossl.ocsp.sectigo.com",
    "ocsp.usertrust.com", "ocsp.globalsign.com", "oneocsp.microsoft.com",
    "ocsp.pki.goog", "o.pki.goog", "ocsp.rootca1.amazontrust.com",
    "ocsp.ca.test", "ocsp2.ca.test", "other.test", "a.wild.test",
    "a.b.wild.test", "wild.test", "crl3.digicert.com", "crl.ca.test",
    "c.pki.goog", "x1.c.lencr.org", "cacerts.digicert.com", "i.pki.goog",
    "aia.ca.test", "www.microsoft.com", "ctldl.windowsupdate.com", "localhost"};

static const char fz_policy[] =
    "responders = (\n"
    "  \"ocsp.digicert.com\", \"status.geotrust.com\",\n"
    "  \"ocsp.sectigo.com\", \"*.ocsp.sectigo.com\", \"ocsp.usertrust.com\",\n"
    "  \"ocsp.globalsign.com\", \"oneocsp.microsoft.com\",\n"
    "  \"ocsp.pki.goog\", \"o.pki.goog\", \"*.amazontrust.com\",\n"
    "  \"ocsp.ca.test\", \"*.wild.test\", \"other.test:8080/ocsp\"%s\n"
    ");\n"
    "crl_hosts = ( \"crl3.digicert.com\", \"www.microsoft.com/pkiops/crl\",\n"
    "  \"c.pki.goog\", \"*.amazontrust.com\", \"*.c.lencr.org\",\n"
    "  \"crl.ca.test\" );\n"
    "ca_issuer_hosts = ( \"cacerts.digicert.com\", \"i.pki.goog\",\n"
    "  \"www.microsoft.com/pkiops/certs\", \"aia.ca.test\" );\n"
    "ctl_hosts = ( \"ctldl.windowsupdate.com\" );\n";

static int
fz_config_text(unsigned v, char *out, size_t cap)
{
	char policy[2048];
	const char *listen, *extra, *responder = "";

	switch (v) {
	case 0: /* enforce, cache, reuse, small connection limits */
		listen = "listen = [ \"127.0.0.1:0\" ];\n";
		extra = "mode = \"enforce\";\n"
		        "cache_size = 1048576;\n"
		        "upstream_idle_max = 4;\n"
		        "max_connections = 12;\n"
		        "max_connections_per_source = 6;\n"
		        "alert_rate_per_source = 6;\n"
		        "alert_rate_per_pair = 4;\n"
		        "alert_early_requery = 2;\n"
		        "alert_serial_fanout = 3;\n"
		        "alert_periodic_min = 3;\n";
		break;
	case 1: /* monitor: blocks are forwarded too; reverse DNS */
		listen = "listen = [ \"127.0.0.1:0\" ];\n";
		extra = "mode = \"monitor\";\n"
		        "on_host_mismatch = \"block\";\n"
		        "cache_size = 0;\n"
		        "upstream_idle_max = 0;\n"
		        "reverse_dns = true;\n";
		break;
	case 2: /* a PROXY listener, an inventory, tight size limits */
		listen =
		    "listen = ( \"127.0.0.1:0\",\n"
		    "  { address = \"127.0.0.1:0\"; proxy_protocol = true;\n"
		    "    proxy_protocol_from = [ \"127.0.0.0/8\" ]; } );\n";
		extra = "mode = \"enforce\";\n"
		        "cache_size = 65536;\n"
		        "upstream_idle_max = 2;\n"
		        "max_header_bytes = 512;\n"
		        "max_request_body = 256;\n"
		        "max_response_body = 2048;\n"
		        "max_crl_bytes = 8192;\n"
		        "max_nonce_bytes = 16;\n"
		        "inventory = \"inventory.csv\";\n";
		break;
	default: /* signatures verified; one responder bound to an issuer */
		listen = "listen = [ \"127.0.0.1:0\" ];\n";
		extra = "mode = \"enforce\";\n"
		        "verify_responses = true;\n"
		        "ca_file = \"" OCSPGATE_FUZZ_DATA "/fetch/ca.pem\";\n"
		        "on_host_mismatch = \"log\";\n";
		responder = ",\n  { host = \"ocsp2.ca.test\"; issuers = [ "
		            "\"" OCSPGATE_FUZZ_DATA "/fetch/ca.pem\" ]; }";
		break;
	}
	snprintf(policy, sizeof(policy), fz_policy, responder);
	return snprintf(out, cap,
	    "%s%s%s"
	    "event_log = \"%s\";\n"
	    "hosts_file = \"%s\";\n"
	    "resolvers = [ \"127.0.0.1:%u\" ];\n"
	    "client_timeout = 5;\n"
	    "upstream_timeout = 3;\n"
	    "upstream_idle_timeout = 4;\n"
	    "drain_timeout = 2;\n"
	    "metric_interval = 0;\n",
	    listen, extra, policy, fz_w.events, fz_w.hosts,
	    (unsigned)fz_w.dns_port);
}

static uint16_t
fz_bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fz_fail("getsockname: %s", strerror(errno));
	return ntohs(sin.sin_port);
}

/* A socket of <type> bound to 127.0.0.1:0. */
static int
fz_bound_socket(int type)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fz_fail("bind: %s", strerror(errno));
	return fd;
}

static void
fz_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF)
		fz_fail("%s: %s", path, strerror(errno));
}

static void
fz_world_free(void)
{
	for (size_t i = 0; i < FZ_VARIANTS; i++)
		config_unref(fz_w.cfg[i]);
	unlink(fz_w.hosts);
	unlink(fz_w.events);
	unlink(fz_w.inventory);
	rmdir(fz_w.dir);
	close(fz_w.up_fd);
	close(fz_w.refuse_fd);
	close(fz_w.dns_fd);
	memset(&fz_w, 0, sizeof(fz_w));
}

static void *fz_thread_main(void *arg);

/* libevent's own messages (evdns: "nameserver has failed"), traced only. */
static void
fz_libevent_log(int severity, const char *msg)
{
	(void)severity;
	if (getenv("OCSPGATE_FUZZ_TRACE") != NULL)
		fprintf(stderr, "libevent: %s\n", msg);
}

static void
fz_world_init(void)
{
	const char *tmp = getenv("TMPDIR");
	char text[16384], name[256], err[4096];
	FILE *f;

	if (fz_w.ready)
		return;
	/* A gate never dies of a peer that went away: neither does this. */
	signal(SIGPIPE, SIG_IGN);
	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 150)
		tmp = "/tmp";
	snprintf(fz_w.dir, sizeof(fz_w.dir), "%s/ocspgate-fuzz-XXXXXX", tmp);
	if (mkdtemp(fz_w.dir) == NULL)
		fz_fail("mkdtemp: %s", strerror(errno));
	snprintf(fz_w.hosts, sizeof(fz_w.hosts), "%s/hosts", fz_w.dir);
	snprintf(fz_w.events, sizeof(fz_w.events), "%s/events.jsonl", fz_w.dir);
	snprintf(fz_w.inventory, sizeof(fz_w.inventory), "%s/inventory.csv",
	    fz_w.dir);
	if ((f = fopen(fz_w.hosts, "w")) == NULL)
		fz_fail("%s: %s", fz_w.hosts, strerror(errno));
	for (size_t i = 0; i < sizeof(fz_names) / sizeof(fz_names[0]); i++)
		fprintf(f, "127.0.0.1 %s\n", fz_names[i]);
	if (fclose(f) == EOF)
		fz_fail("%s: %s", fz_w.hosts, strerror(errno));
	fz_write_file(fz_w.inventory,
	    "address,host,role,owner\n"
	    "127.0.0.2,fuzz-client.corp.test,workstation,fuzz\n"
	    "127.0.0.0/8,,loopback,fuzz\n");
	fz_w.up_fd = fz_bound_socket(SOCK_STREAM);
	if (listen(fz_w.up_fd, 1024) == -1)
		fz_fail("listen: %s", strerror(errno));
	fz_w.refuse_fd = fz_bound_socket(SOCK_STREAM);
	fz_w.dns_fd = fz_bound_socket(SOCK_DGRAM);
	fz_w.up_port = fz_bound_port(fz_w.up_fd);
	fz_w.refuse_port = fz_bound_port(fz_w.refuse_fd);
	fz_w.dns_port = fz_bound_port(fz_w.dns_fd);
	for (unsigned v = 0; v < FZ_VARIANTS; v++) {
		int n = fz_config_text(v, text, sizeof(text));

		if (n < 0 || (size_t)n >= sizeof(text))
			fz_fail("config %u: too long", v);
		/* Relative names (the inventory) are the temp dir's. */
		snprintf(name, sizeof(name), "%s/fuzz-%u.conf", fz_w.dir, v);
		fz_w.cfg[v] = config_load_string(name, text, err, sizeof(err));
		if (fz_w.cfg[v] == NULL)
			fz_fail("config %u does not load: %s", v, err);
	}
	event_set_log_callback(fz_libevent_log);
	if (pthread_create(&fz_job.thread, NULL, fz_thread_main, NULL) != 0)
		fz_fail("pthread_create");
	fz_w.ready = true;
	atexit(fz_world_free);
}

/* ------------------------------------------------------------------ */
/* One input */

struct fz_conn {
	int fd;            /* -1 once closed here */
	bool closed_early; /* closed or reset by the script */
	bool shut;         /* half-closed by the script */
	bool eof;          /* the peer closed (or reset) it */
	bool refused;      /* the connect failed */
	bool proxied;      /* on a PROXY listener: events name another source */
	bool overflow;     /* more than FZ_RECORD_MAX received */
	bool redirected;
	char ip[INET_ADDRSTRLEN];
	uint16_t port;
	struct sockaddr_in orig; /* redirected: the original destination */
	unsigned char *buf;      /* what it received */
	size_t len, cap;
};

struct fz_input {
	const uint8_t *p, *end;
	unsigned variant;
	struct event_base *base;
	struct event_sink *sink;
	struct gate gate;
	struct server srv;
	bool drained;
	struct fz_conn cl[FZ_MAX_CLIENTS];
	size_t ncl;
	struct fz_conn up[FZ_MAX_UPSTREAMS];
	size_t nup;
	uint16_t lport[FZ_MAX_LISTENERS];
	bool lproxy[FZ_MAX_LISTENERS];
	size_t nl;
	size_t sent;
	size_t fds_before;
};

static size_t
fz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
fz_original_dst(int fd, void *val, socklen_t *len)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
	    peer.sin_family == AF_INET) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
		for (size_t i = 0; i < fz_in->ncl; i++) {
			const struct fz_conn *c = &fz_in->cl[i];

			if (c->redirected && c->port == ntohs(peer.sin_port) &&
			    strcmp(c->ip, ip) == 0) {
				if (*len < sizeof(c->orig)) {
					errno = EINVAL;
					return -1;
				}
				memcpy(val, &c->orig, sizeof(c->orig));
				*len = sizeof(c->orig);
				return 0;
			}
		}
	}
	errno = ENOENT; /* no NAT entry: not redirected */
	return -1;
}

/* Reads what arrived on <c> (kept up to FZ_RECORD_MAX). */
static void
fz_read(struct fz_conn *c)
{
	unsigned char chunk[65536];

	while (c->fd != -1 && !c->eof) {
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->eof = true; /* closed, or reset */
			return;
		}
		if (c->len + (size_t)n > FZ_RECORD_MAX) {
			c->overflow = true;
			continue;
		}
		if (c->len + (size_t)n > c->cap) {
			size_t cap = c->cap > 0 ? c->cap : 4096;

			while (cap < c->len + (size_t)n)
				cap *= 2;
			if ((c->buf = realloc(c->buf, cap)) == NULL)
				fz_fail("out of memory");
			c->cap = cap;
		}
		memcpy(c->buf + c->len, chunk, (size_t)n);
		c->len += (size_t)n;
	}
}

static void
fz_read_upstreams(struct fz_input *in)
{
	for (size_t i = 0; i < in->nup; i++)
		fz_read(&in->up[i]);
}

static void
fz_break(void)
{
	if (fz_in != NULL && fz_in->base != NULL && !fz_busy) {
		fz_busy = true;
		event_base_loopbreak(fz_in->base);
	}
}

/*
 * Runs the loop until it is idle: until a pass finds no socket ready
 * and no timer due (libevent returns only once no callback is active),
 * and the upstream connections, which read what they are sent as it
 * comes as servers do, got nothing more. Fails when the loop never
 * goes idle.
 */
static void
fz_run(struct fz_input *in)
{
	fz_run_start = fz_dispatches;
	fz_inner = 0;
	for (;;) {
		unsigned before = fz_dispatches;
		size_t got = 0;

		if (event_base_loop(in->base, EVLOOP_NONBLOCK) == 1)
			return; /* nothing left to wait for */
		/* Between passes, as server_run() does. */
		server_reap(&in->srv);
		if (fz_busy) {
			event_base_dump_events(in->base, stderr);
			fz_fail("the loop is still running callbacks after %u "
			        "passes (%u in a row with no socket ready)",
			    fz_dispatches - fz_run_start, fz_inner);
		}
		for (size_t i = 0; i < in->nup; i++) {
			size_t len = in->up[i].len;

			fz_read(&in->up[i]);
			got += in->up[i].len - len;
		}
		/* One pass that found nothing to do: idle. */
		if (fz_dispatches - before == 1 && fz_epoll_ready == 0 &&
		    got == 0)
			return;
	}
}

static void
fz_advance(struct fz_input *in, uint64_t ms)
{
	uint64_t ns = (uint64_t)fz_mono.tv_nsec + (ms % 1000) * 1000000;

	fz_mono.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
	fz_mono.tv_nsec = (long)(ns % 1000000000);
	ns = (uint64_t)fz_wall.tv_nsec + (ms % 1000) * 1000000;
	fz_wall.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
	fz_wall.tv_nsec = (long)(ns % 1000000000);
	fz_run(in);
}

/* The listeners' ports, after start and after a reload. */
static void
fz_listeners(struct fz_input *in)
{
	in->nl = 0;
	for (size_t i = 0; i < in->srv.nlisteners && in->nl < FZ_MAX_LISTENERS;
	     i++) {
		const struct listener *l = in->srv.listeners[i];
		const char *name = listener_name(l),
		           *colon = strrchr(name, ':');

		if (colon == NULL)
			fz_fail("listener name %s", name);
		in->lport[in->nl] = (uint16_t)atoi(colon + 1);
		in->lproxy[in->nl] = listener_config(l)->proxy_protocol;
		in->nl++;
	}
}

/* Listening sockets for <cfg>, as the main thread binds them. */
static int *
fz_bind(const struct config *cfg)
{
	int *fds = calloc(cfg->nlisten + 1, sizeof(*fds));
	char err[512];

	if (fds == NULL)
		fz_fail("out of memory");
	for (size_t i = 0; i < cfg->nlisten; i++) {
		if ((fds[i] = listener_bind(
		         &cfg->listen[i], err, sizeof(err))) == -1)
			fz_fail("%s", err);
	}
	return fds;
}

static void
fz_reload(struct fz_input *in, unsigned v)
{
	struct config *cfg = fz_w.cfg[v % FZ_VARIANTS];
	char err[1024];
	int *fds;

	if (in->drained)
		return; /* the daemon ignores SIGHUP once stopping */
	fds = fz_bind(cfg);
	if (server_apply(&in->srv, cfg, in->sink, fds, err, sizeof(err)) == -1)
		fz_fail("reload: %s", err);
	free(fds);
	fz_listeners(in);
}

static void
fz_start(struct fz_input *in)
{
	struct config *cfg = fz_w.cfg[in->variant];
	struct event_config *ec;
	char err[1024];
	int fd, *fds;

	fz_mono.tv_sec = FZ_START_MONO_SEC;
	fz_mono.tv_nsec = 0;
	fz_wall.tv_sec = FZ_START_WALL_SEC;
	fz_wall.tv_nsec = 0;
	fz_rng = 0x9e3779b97f4a7c15ULL;
	fz_refuse_next = fz_refuse_all = false;
	fz_connects = 0;
	fz_busy = false;
	fz_in = in;
	in->fds_before = fz_count_fds();
	if ((fd = open(fz_w.events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	         0600)) == -1)
		fz_fail("%s: %s", fz_w.events, strerror(errno));
	close(fd);
	fz_active = true;
	/* As a worker's loop: epoll changes wait for the next dispatch. */
	if ((ec = event_config_new()) == NULL)
		fz_fail("out of memory");
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	in->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (in->base == NULL)
		fz_fail("no event base");
	if ((in->sink = event_sink_open(fz_w.events, err, sizeof(err))) == NULL)
		fz_fail("%s", err);
	if (gate_init_shared(&in->gate, cfg, err, sizeof(err)) == -1)
		fz_fail("gate: %s", err);
	if (server_init(&in->srv, in->gate.shared, in->base, cfg, in->sink, err,
	        sizeof(err)) == -1)
		fz_fail("server: %s", err);
	fds = fz_bind(cfg);
	if (server_apply(&in->srv, cfg, in->sink, fds, err, sizeof(err)) == -1)
		fz_fail("server: %s", err);
	free(fds);
	fz_listeners(in);
}

/* Op argument: a connection index among those made so far. */
static struct fz_conn *
fz_pick(struct fz_conn *c, size_t n, unsigned a)
{
	if (n == 0)
		return NULL;
	c = &c[a % n];
	return c->fd == -1 ? NULL : c;
}

/*
 * A socket for client <c> of <in>; with <from2>, bound to 127.0.0.2 and a
 * port no earlier client of this input had. Events name their client by
 * address and port only, and the kernel's bind(port 0) picks at random
 * among the free ports, which include those of clients already closed:
 * given a closed client's port, a new client would be matched to its
 * events (and to its SO_ORIGINAL_DST). Ports refused here stay bound
 * until one is new, so the kernel cannot offer them again meanwhile.
 * A client from 127.0.0.1 takes its port at connect, as a real client
 * does: the kernel hands those out in turn, not at random, so one comes
 * back only after the whole range went round.
 */
static void
fz_client_socket(struct fz_input *in, struct fz_conn *c, bool from2)
{
	int held[FZ_MAX_CLIENTS];
	size_t nheld = 0;

	for (;;) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		bool used = false;

		c->fd = socket(
		    AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd == -1)
			fz_fail("socket: %s", strerror(errno));
		if (!from2)
			break;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
		if (bind(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(c->fd, (struct sockaddr *)&sin, &len) == -1)
			fz_fail("bind 127.0.0.2: %s", strerror(errno));
		inet_ntop(AF_INET, &sin.sin_addr, c->ip, sizeof(c->ip));
		c->port = ntohs(sin.sin_port);
		for (const struct fz_conn *o = in->cl; o < c && !used; o++)
			used = o->port == c->port && strcmp(o->ip, c->ip) == 0;
		if (!used)
			break;
		/* Each held port is one an earlier client has: fewer than
		 * FZ_MAX_CLIENTS of them. */
		held[nheld++] = c->fd;
	}
	while (nheld > 0)
		close(held[--nheld]);
}

static void
fz_connect(struct fz_input *in, unsigned a)
{
	static const struct {
		const char *ip;
		uint16_t port;
	} redirect[4] = {{NULL, 0}, {"127.0.0.1", 80}, {"192.0.2.7", 80},
	    {"127.0.0.1", 8080}};
	struct fz_conn *c;
	struct sockaddr_in sin;
	size_t l;

	if (in->ncl == FZ_MAX_CLIENTS || in->nl == 0)
		return;
	c = &in->cl[in->ncl++];
	memset(c, 0, sizeof(*c));
	l = (a & 1) % in->nl;
	c->proxied = in->lproxy[l];
	fz_client_socket(in, c, a & 2);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(in->lport[l]);
	if (fz_sys_connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		/* After a drain nothing listens any more. */
		close(c->fd);
		c->fd = -1;
		c->refused = true;
		return;
	}
	if (!(a & 2)) {
		socklen_t len = sizeof(sin);

		if (getsockname(c->fd, (struct sockaddr *)&sin, &len) == -1)
			fz_fail("getsockname: %s", strerror(errno));
		inet_ntop(AF_INET, &sin.sin_addr, c->ip, sizeof(c->ip));
		c->port = ntohs(sin.sin_port);
	}
	if (redirect[a >> 2].ip != NULL) {
		c->redirected = true;
		c->orig.sin_family = AF_INET;
		inet_pton(AF_INET, redirect[a >> 2].ip, &c->orig.sin_addr);
		c->orig.sin_port = htons(redirect[a >> 2].port);
	}
}

/* Accepts one upstream connection. Returns false when none is waiting. */
static bool
fz_accept(struct fz_input *in)
{
	struct fz_conn *c;
	int fd = accept4(fz_w.up_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd == -1)
		return false;
	if (in->nup == FZ_MAX_UPSTREAMS) {
		close(fd); /* a server that gives up at once */
		return true;
	}
	c = &in->up[in->nup++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	fz_read(c);
	return true;
}

static void
fz_send(struct fz_input *in, struct fz_conn *c, const uint8_t *p, size_t n)
{
	if (n > FZ_MAX_SEND_BYTES - in->sent)
		n = FZ_MAX_SEND_BYTES - in->sent;
	in->sent += n;
	while (c != NULL && n > 0) {
		ssize_t k = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* full, or gone: the rest is lost */
		p += k;
		n -= (size_t)k;
	}
}

/* The data of a SEND op: length, then the bytes (fewer at the end). */
static void
fz_op_send(struct fz_input *in, struct fz_conn *c)
{
	size_t n;

	if (in->p == in->end)
		return;
	n = *in->p++;
	if (n & 0x80) {
		if (in->p == in->end)
			return;
		n = (n & 0x7f) << 8 | *in->p++;
	}
	if (n > (size_t)(in->end - in->p))
		n = (size_t)(in->end - in->p);
	fz_send(in, c, in->p, n);
	in->p += n;
}

static void
fz_op_fill(struct fz_input *in, struct fz_conn *c)
{
	unsigned char buf[4096];
	size_t n;

	if (in->end - in->p < 3)
		return;
	memset(buf, in->p[0], sizeof(buf));
	n = (size_t)in->p[1] << 8 | in->p[2];
	in->p += 3;
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		fz_send(in, c, buf, k);
		n -= k;
	}
}

static void
fz_close(struct fz_conn *c, bool reset)
{
	if (c == NULL)
		return;
	fz_read(c);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
}

/* Answers (or drops) the DNS queries waiting, as <mode> says. */
static void
fz_dns(unsigned mode)
{
	static const unsigned char ptr_name[] = "\x0b"
	                                        "fuzz-client\x04test";
	static const unsigned char rcode[4] = {0, 3, 2, 0};

	for (unsigned i = 0; i < 256; i++) {
		unsigned char q[512], r[600];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fz_w.dns_fd, q, sizeof(q), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		size_t off = 12, len;
		unsigned qtype;

		if (n == -1)
			return;
		if (mode == 3 || n < 12)
			continue;
		while (off < (size_t)n && q[off] != 0 && !(q[off] & 0xc0))
			off += (size_t)q[off] + 1;
		if (off + 5 > (size_t)n)
			continue;
		qtype = (unsigned)q[off + 1] << 8 | q[off + 2];
		off += 5;
		memcpy(r, q, off);
		r[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, RD */
		r[3] = (unsigned char)(0x80 | rcode[mode]);   /* RA */
		r[4] = 0;
		r[5] = 1;
		memset(r + 6, 0, 6);
		len = off;
		if (mode == 0 && (qtype == 1 || qtype == 12)) {
			static const unsigned char a[4] = {127, 0, 0, 1};
			const unsigned char *rd = qtype == 1 ? a : ptr_name;
			size_t rdlen = qtype == 1 ? 4 : sizeof(ptr_name);
			unsigned char rr[12] = {0xc0, 0x0c, 0,
			    (unsigned char)qtype, 0, 1, 0, 0, 0, 60, 0,
			    (unsigned char)rdlen};

			r[7] = 1;
			memcpy(r + len, rr, sizeof(rr));
			memcpy(r + len + sizeof(rr), rd, rdlen);
			len += sizeof(rr) + rdlen;
		}
		sendto(fz_w.dns_fd, r, len, 0, (struct sockaddr *)&from, flen);
	}
}

static void
fz_op(struct fz_input *in)
{
	unsigned op = *in->p++, kind = op & 0x0f, a = op >> 4;

	switch (kind) {
	case 0x0:
		fz_connect(in, a);
		break;
	case 0x1:
		fz_op_send(in, fz_pick(in->cl, in->ncl, a));
		break;
	case 0x2:
		fz_op_fill(in, fz_pick(in->cl, in->ncl, a));
		break;
	case 0x3:
	case 0xa: {
		struct fz_conn *c = kind == 0x3 ? fz_pick(in->cl, in->ncl, a)
		                                : fz_pick(in->up, in->nup, a);

		if (c != NULL && shutdown(c->fd, SHUT_WR) == 0)
			c->shut = true;
		break;
	}
	case 0x4:
	case 0x5: {
		struct fz_conn *c = fz_pick(in->cl, in->ncl, a);

		if (c != NULL)
			c->closed_early = true;
		fz_close(c, kind == 0x5);
		break;
	}
	case 0x6: {
		struct fz_conn *c = fz_pick(in->cl, in->ncl, a);

		if (c != NULL)
			fz_read(c);
		break;
	}
	case 0x7:
		fz_accept(in);
		break;
	case 0x8:
		fz_op_send(in, fz_pick(in->up, in->nup, a));
		break;
	case 0x9:
		fz_op_fill(in, fz_pick(in->up, in->nup, a));
		break;
	case 0xb:
	case 0xc: {
		struct fz_conn *c = fz_pick(in->up, in->nup, a);

		if (c != NULL)
			c->closed_early = true;
		fz_close(c, kind == 0xc);
		break;
	}
	case 0xd:
		fz_dns(a & 3);
		break;
	case 0xe:
		fz_advance(in, fz_steps[a]);
		break;
	default:
		switch (a) {
		case 1:
			fz_epoll_ready = -1;
			event_base_loop(in->base, EVLOOP_NONBLOCK);
			server_reap(&in->srv);
			fz_read_upstreams(in);
			break;
		case 2:
			fz_refuse_next = true;
			break;
		case 3:
			if (!in->drained)
				server_drain(
				    &in->srv, in->srv.cfg->drain_timeout_sec);
			in->drained = true;
			break;
		case 4:
		case 5:
		case 6:
		case 7:
			fz_reload(in, a - 4);
			break;
		case 8:
			for (size_t i = 0; i < in->ncl; i++)
				fz_read(&in->cl[i]);
			break;
		case 9:
			while (fz_accept(in))
				continue;
			break;
		default:
			fz_run(in);
			break;
		}
		break;
	}
}

/*
 * After the script: upstreams go away (their connections closed, new
 * ones refused, lookups answered NXDOMAIN) and the clock moves on by
 * minutes until every session is gone. Clients read all they are sent.
 */
static void
fz_settle(struct fz_input *in)
{
	bool open = true;

	fz_run(in);
	fz_refuse_all = true;
	for (unsigned round = 0; round < FZ_SETTLE_ROUNDS; round++) {
		while (fz_accept(in))
			continue;
		for (size_t i = 0; i < in->nup; i++)
			if (in->up[i].fd != -1)
				fz_close(&in->up[i], false);
		fz_dns(1);
		fz_run(in);
		open = false;
		for (size_t i = 0; i < in->ncl; i++) {
			fz_read(&in->cl[i]);
			open |= in->cl[i].fd != -1 && !in->cl[i].eof;
		}
		if (in->srv.nsessions == 0 && !open)
			break;
		fz_advance(in, FZ_SETTLE_STEP_SEC * 1000);
	}
	if (in->srv.nsessions != 0)
		fz_fail("%u session(s) still open after every peer left and "
		        "%u s passed",
		    in->srv.nsessions, FZ_SETTLE_ROUNDS * FZ_SETTLE_STEP_SEC);
	if (open)
		fz_fail("a client connection was never closed by the gate");
}

/* ------------------------------------------------------------------ */
/* The event log */

enum {
	FZ_EV_KIND = 0,
	FZ_EV_ACTION,
	FZ_EV_ENFORCED,
	FZ_EV_METHOD,
	FZ_EV_PATH,
	FZ_EV_IP,
	FZ_EV_PORT,
	FZ_EV_STATUS,
	FZ_EV_FIELDS
};

static const char *const fz_ev_names[FZ_EV_FIELDS] = {"event.kind",
    "event.action", "ocspgate.enforced", "http.request.method", "url.path",
    "source.ip", "source.port", "http.response.status_code"};

/* The raw JSON tokens of one line's fields of interest. */
struct fz_event {
	struct {
		const char *p;
		size_t len;
	} f[FZ_EV_FIELDS];
	unsigned forwarded_max; /* upstream requests it may account for */
};

static bool
fz_tok_is(const struct fz_event *e, int field, const char *tok)
{
	return e->f[field].p != NULL && e->f[field].len == strlen(tok) &&
	    memcmp(e->f[field].p, tok, e->f[field].len) == 0;
}

static long
fz_tok_num(const struct fz_event *e, int field)
{
	char num[24];

	if (e->f[field].p == NULL || e->f[field].len >= sizeof(num))
		return -1;
	memcpy(num, e->f[field].p, e->f[field].len);
	num[e->f[field].len] = '\0';
	return strtol(num, NULL, 10);
}

static const char *
fz_json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static const char *
fz_json_skip_string(const char *p)
{
	for (p++; *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p + 1;
}

/*
 * Walks one value of a line already found valid (and NUL-terminated),
 * recording the scalar members named in fz_ev_names by their dotted
 * path. Returns the end of the value.
 */
static const char *
fz_json_walk(const char *p, char *path, size_t plen, struct fz_event *e)
{
	const char *start;

	p = fz_json_ws(p);
	if (*p == '{' || *p == '[') {
		bool object = *p == '{';

		for (p = fz_json_ws(p + 1); *p != (object ? '}' : ']');
		     p = fz_json_ws(p)) {
			size_t n = plen;

			if (*p == ',') {
				p = fz_json_ws(p + 1);
				continue;
			}
			if (object) {
				const char *k = p + 1, *kend;

				p = fz_json_skip_string(p);
				kend = p - 1;
				if (n > 0 && n + 1 < 256)
					path[n++] = '.';
				while (k < kend && n + 1 < 256)
					path[n++] = *k++;
				path[n] = '\0';
				p = fz_json_ws(p) + 1; /* ':' */
			}
			/* Members of arrays are not recorded. */
			p = fz_json_walk(p, path, n, object ? e : NULL);
			path[plen] = '\0';
		}
		return p + 1;
	}
	start = p;
	if (*p == '"')
		p = fz_json_skip_string(p);
	else
		while (*p != '\0' && strchr(",}] \t\r\n", *p) == NULL)
			p++;
	for (int i = 0; e != NULL && i < FZ_EV_FIELDS; i++) {
		if (strcmp(path, fz_ev_names[i]) == 0) {
			e->f[i].p = start;
			e->f[i].len = (size_t)(p - start);
		}
	}
	return p;
}

/*
 * Checks every line of the event log and returns its parsed lines (the
 * tokens point into <log>, which it NUL-terminates line by line).
 */
static struct fz_event *
fz_parse_events(char *log, size_t len, size_t *n)
{
	struct fz_event *evs = NULL;
	size_t cap = 0;

	*n = 0;
	if (len > 0 && log[len - 1] != '\n')
		fz_fail("the event log ends inside a line");
	for (size_t off = 0; off < len;) {
		char *line = log + off, *nl = memchr(line, '\n', len - off);
		size_t llen = (size_t)(nl - line);
		char path[256] = "";

		*nl = '\0';
		off += llen + 1;
		if (memchr(line, '\0', llen) != NULL ||
		    !fuzz_json_validate(line, llen, NULL) || line[0] != '{')
			fz_fail(
			    "event line is not one JSON object: %.300s", line);
		if (*n == cap) {
			cap = cap > 0 ? cap * 2 : 64;
			if ((evs = realloc(evs, cap * sizeof(*evs))) == NULL)
				fz_fail("out of memory");
		}
		memset(&evs[*n], 0, sizeof(evs[*n]));
		fz_json_walk(line, path, 0, &evs[*n]);
		if (!fz_tok_is(&evs[*n], FZ_EV_KIND, "\"event\"") &&
		    !fz_tok_is(&evs[*n], FZ_EV_KIND, "\"alert\""))
			fz_fail("event line without a known event.kind: %.300s",
			    line);
		(*n)++;
	}
	return evs;
}

static char *
fz_read_log(size_t *len)
{
	FILE *f = fopen(fz_w.events, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (f == NULL)
		fz_fail("%s: %s", fz_w.events, strerror(errno));
	for (;;) {
		size_t n;

		if (*len + 65536 + 1 > cap) {
			cap = cap > 0 ? cap * 2 : 131072;
			if ((buf = realloc(buf, cap)) == NULL)
				fz_fail("out of memory");
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* What the clients received */

struct fz_answers {
	llhttp_t parser;
	const struct fz_event **evs; /* this connection's answered events */
	size_t nevs;
	size_t done; /* final answers parsed */
	bool started;
	const char *problem;
};

static int
fz_answer_on_begin(llhttp_t *p)
{
	((struct fz_answers *)p->data)->started = true;
	return 0;
}

static int
fz_answer_on_headers(llhttp_t *p)
{
	struct fz_answers *a = p->data;

	/* The answer to a HEAD has no body, whatever its head says. */
	if (p->status_code >= 200 && a->done < a->nevs &&
	    fz_tok_is(a->evs[a->done], FZ_EV_METHOD, "\"HEAD\""))
		return 1;
	return 0;
}

static int
fz_answer_on_complete(llhttp_t *p)
{
	struct fz_answers *a = p->data;

	a->started = false;
	if (p->status_code < 200)
		return 0; /* 100 Continue: an interim answer */
	if (a->done == a->nevs) {
		a->problem = "more answers than events with a status";
		return -1;
	}
	if (fz_tok_num(a->evs[a->done], FZ_EV_STATUS) != p->status_code) {
		a->problem = "an answer's status is not its event's";
		return -1;
	}
	a->done++;
	return 0;
}

static void
fz_check_client(const struct fz_conn *c, const struct fz_event *evs, size_t n)
{
	struct fz_answers a;
	llhttp_settings_t st;
	char ip[INET_ADDRSTRLEN + 2], port[8];
	llhttp_errno_t err = HPE_OK;

	if (c->refused || c->proxied || c->overflow)
		return;
	memset(&a, 0, sizeof(a));
	snprintf(ip, sizeof(ip), "\"%s\"", c->ip);
	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	if ((a.evs = calloc(n + 1, sizeof(*a.evs))) == NULL)
		fz_fail("out of memory");
	for (size_t i = 0; i < n; i++)
		if (fz_tok_is(&evs[i], FZ_EV_KIND, "\"event\"") &&
		    fz_tok_is(&evs[i], FZ_EV_IP, ip) &&
		    fz_tok_is(&evs[i], FZ_EV_PORT, port) &&
		    evs[i].f[FZ_EV_STATUS].p != NULL)
			a.evs[a.nevs++] = &evs[i];
	llhttp_settings_init(&st);
	st.on_message_begin = fz_answer_on_begin;
	st.on_headers_complete = fz_answer_on_headers;
	st.on_message_complete = fz_answer_on_complete;
	llhttp_init(&a.parser, HTTP_RESPONSE, &st);
	a.parser.data = &a;
	if (c->len > 0)
		err = llhttp_execute(&a.parser, (const char *)c->buf, c->len);
	if (err == HPE_OK && c->eof)
		err = llhttp_finish(&a.parser);
	if (a.problem == NULL && err != HPE_OK &&
	    !(c->eof && a.started && err == HPE_INVALID_EOF_STATE))
		a.problem = llhttp_get_error_reason(&a.parser);
	/*
	 * The last answer may be cut short (the upstream failed midway, so
	 * the gate closed); every other event with a status was answered.
	 * A client that closed early may have missed any of that.
	 */
	if (a.problem == NULL && !c->closed_early &&
	    a.done + (a.started ? 1 : 0) != a.nevs)
		a.problem = "fewer answers than events with a status";
	if (a.problem != NULL)
		fz_fail("client %s:%u: %s (%zu answers, %zu events with a "
		        "status, %zu bytes):\n%.2000s",
		    c->ip, (unsigned)c->port, a.problem, a.done, a.nevs, c->len,
		    c->len > 0 ? (const char *)c->buf : "");
	free(a.evs);
}

/* ------------------------------------------------------------------ */
/* What the upstreams received */

struct fz_requests {
	llhttp_t parser;
	char url[65536];
	size_t url_len;
	char field[32];
	size_t field_len;
	unsigned hosts, te, cl;
	bool in_message;
	struct fz_event *evs;
	size_t nevs;
	const char *problem;
};

static int
fz_request_on_begin(llhttp_t *p)
{
	struct fz_requests *r = p->data;

	r->in_message = true;
	r->url_len = r->field_len = 0;
	r->hosts = r->te = r->cl = 0;
	return 0;
}

static int
fz_request_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct fz_requests *r = p->data;

	if (len > sizeof(r->url) - r->url_len)
		len = sizeof(r->url) - r->url_len;
	memcpy(r->url + r->url_len, at, len);
	r->url_len += len;
	return 0;
}

static int
fz_request_on_field(llhttp_t *p, const char *at, size_t len)
{
	struct fz_requests *r = p->data;

	if (len > sizeof(r->field) - 1 - r->field_len)
		len = sizeof(r->field) - 1 - r->field_len;
	memcpy(r->field + r->field_len, at, len);
	r->field_len += len;
	return 0;
}

static int
fz_request_on_field_done(llhttp_t *p)
{
	struct fz_requests *r = p->data;

	r->field[r->field_len] = '\0';
	r->hosts += strcasecmp(r->field, "host") == 0;
	r->te += strcasecmp(r->field, "transfer-encoding") == 0;
	r->cl += strcasecmp(r->field, "content-length") == 0;
	r->field_len = 0;
	return 0;
}

/* One complete request upstream: its shape, and an event that sent it. */
static int
fz_request_on_complete(llhttp_t *p)
{
	struct fz_requests *r = p->data;
	const char *method = llhttp_method_name(p->method);
	size_t plen = 0;
	char mtok[32];
	struct json j;

	r->in_message = false;
	if (r->hosts != 1 || r->te != 0 || r->cl > 1 || r->url_len == 0 ||
	    r->url[0] != '/') {
		r->problem = "not an origin-form request with one Host, no "
		             "Transfer-Encoding, at most one Content-Length";
		return -1;
	}
	while (plen < r->url_len && r->url[plen] != '?')
		plen++;
	snprintf(mtok, sizeof(mtok), "\"%s\"", method);
	json_init(&j);
	json_string(&j, NULL, r->url, plen);
	for (size_t i = 0; i < r->nevs; i++) {
		struct fz_event *e = &r->evs[i];

		if (e->forwarded_max == 0 ||
		    !fz_tok_is(e, FZ_EV_METHOD, mtok) ||
		    !(e->f[FZ_EV_PATH].p != NULL
		            ? fz_tok_is(e, FZ_EV_PATH, j.buf)
		            : plen == 1))
			continue;
		e->forwarded_max--;
		json_free(&j);
		return 0;
	}
	json_free(&j);
	r->problem = "a request reached the upstream that no forwarded event "
	             "accounts for";
	return -1;
}

static void
fz_check_upstream(const struct fz_conn *c, struct fz_event *evs, size_t n)
{
	struct fz_requests *r = calloc(1, sizeof(*r));
	llhttp_settings_t st;
	llhttp_errno_t err = HPE_OK;

	if (r == NULL)
		fz_fail("out of memory");
	if (c->overflow) {
		free(r);
		return;
	}
	r->evs = evs;
	r->nevs = n;
	llhttp_settings_init(&st);
	st.on_message_begin = fz_request_on_begin;
	st.on_url = fz_request_on_url;
	st.on_header_field = fz_request_on_field;
	st.on_header_field_complete = fz_request_on_field_done;
	st.on_message_complete = fz_request_on_complete;
	llhttp_init(&r->parser, HTTP_REQUEST, &st);
	r->parser.data = r;
	if (c->len > 0)
		err = llhttp_execute(&r->parser, (const char *)c->buf, c->len);
	if (r->problem == NULL && err != HPE_OK)
		r->problem = llhttp_get_error_reason(&r->parser);
	/* Only a connection the script cut may hold a partial request. */
	if (r->problem == NULL && r->in_message && !c->closed_early)
		r->problem = "a partial request";
	if (r->problem != NULL)
		fz_fail("upstream connection: %s:\n%.2000s", r->problem,
		    c->len > 0 ? (const char *)c->buf : "");
	free(r);
}

/* With OCSPGATE_FUZZ_TRACE set: what each side saw, and the log. */
static void
fz_trace(const struct fz_input *in, const char *log, size_t len)
{
	if (getenv("OCSPGATE_FUZZ_TRACE") == NULL)
		return;
	for (size_t i = 0; i < in->ncl; i++)
		fprintf(stderr,
		    "--- client %zu %s:%u%s%s got %zu bytes:\n%.*s\n", i,
		    in->cl[i].ip, (unsigned)in->cl[i].port,
		    in->cl[i].proxied ? " (PROXY)" : "",
		    in->cl[i].closed_early ? " (closed early)" : "",
		    in->cl[i].len, (int)in->cl[i].len,
		    in->cl[i].buf != NULL ? (const char *)in->cl[i].buf : "");
	for (size_t i = 0; i < in->nup; i++)
		fprintf(stderr, "--- upstream %zu got %zu bytes:\n%.*s\n", i,
		    in->up[i].len, (int)in->up[i].len,
		    in->up[i].buf != NULL ? (const char *)in->up[i].buf : "");
	fprintf(stderr, "--- event log:\n%.*s", (int)len, log);
}

static void
fz_check(struct fz_input *in)
{
	size_t len, n;
	char *log = fz_read_log(&len);
	struct fz_event *evs;

	fz_trace(in, log, len);
	evs = fz_parse_events(log, len, &n);

	for (size_t i = 0; i < in->ncl; i++)
		fz_check_client(&in->cl[i], evs, n);
	/* A forwarded request may reach the upstream twice (GET retry). */
	for (size_t i = 0; i < n; i++)
		if (fz_tok_is(&evs[i], FZ_EV_KIND, "\"event\"") &&
		    (fz_tok_is(&evs[i], FZ_EV_ACTION, "\"allow\"") ||
		        fz_tok_is(&evs[i], FZ_EV_ENFORCED, "false")))
			evs[i].forwarded_max = 2;
	for (size_t i = 0; i < in->nup; i++)
		fz_check_upstream(&in->up[i], evs, n);
	free(evs);
	free(log);
}

/* Frees the runtime, then closes and frees what the harness held. */
static void
fz_stop(struct fz_input *in)
{
	server_free(&in->srv);
	gate_free(&in->gate);
	event_sink_unref(in->sink);
	event_base_free(in->base);
	fz_active = false;
	for (size_t i = 0; i < in->ncl; i++)
		if (in->cl[i].fd != -1)
			fz_close(&in->cl[i], false);
	for (size_t i = 0; i < in->nup; i++)
		if (in->up[i].fd != -1)
			fz_close(&in->up[i], false);
	/* Upstream connections never accepted, lookups never answered. */
	for (int fd;
	     (fd = accept4(fz_w.up_fd, NULL, NULL, SOCK_CLOEXEC)) != -1;)
		close(fd);
	fz_dns(3);
	fz_in = NULL;
}

static void
fz_one(const uint8_t *data, size_t size)
{
	struct fz_input *in;
	size_t fds;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		fz_fail("out of memory");
	in->p = data + 1;
	in->end = data + size;
	in->variant = data[0] % FZ_VARIANTS;
	fz_start(in);
	for (unsigned ops = 0; ops < FZ_MAX_OPS && in->p < in->end; ops++)
		fz_op(in);
	fz_settle(in);
	fz_stop(in);
	fz_check(in);
	if ((fds = fz_count_fds()) != in->fds_before)
		fz_fail("%zu descriptors open before the input, %zu after",
		    in->fds_before, fds);
	for (size_t i = 0; i < in->ncl; i++)
		free(in->cl[i].buf);
	for (size_t i = 0; i < in->nup; i++)
		free(in->up[i].buf);
	free(in);
}

/*
 * The runtime runs on a thread of its own, as a worker does: the fake
 * clock is that thread's alone, so libFuzzer's own timing (the -timeout
 * alarm, on the main thread) keeps the real one. Asynchronous signals
 * are kept away from it; faults are still its own.
 */
static void *
fz_thread_main(void *arg)
{
	sigset_t block;

	(void)arg;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	pthread_mutex_lock(&fz_job.lock);
	for (;;) {
		while (!fz_job.ready)
			pthread_cond_wait(&fz_job.cond, &fz_job.lock);
		fz_job.ready = false;
		pthread_mutex_unlock(&fz_job.lock);
		fz_one(fz_job.data, fz_job.size);
		pthread_mutex_lock(&fz_job.lock);
		fz_job.done = true;
		pthread_cond_broadcast(&fz_job.cond);
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fz_world_init();
	pthread_mutex_lock(&fz_job.lock);
	fz_job.data = data;
	fz_job.size = size;
	fz_job.done = false;
	fz_job.ready = true;
	pthread_cond_broadcast(&fz_job.cond);
	while (!fz_job.done)
		pthread_cond_wait(&fz_job.cond, &fz_job.lock);
	pthread_mutex_unlock(&fz_job.lock);
	return 0;
}
