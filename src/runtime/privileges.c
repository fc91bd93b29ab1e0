/*
 * Privilege drop: setgroups, setgid, setuid, then only the capabilities
 * the running proxy still needs. Linux only (prctl, capset).
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ocspgate/privileges.h"

/* A decimal id, or -1 when <s> is not one. */
static long
privileges_number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0)
		return -1;
	return v;
}

static int
privileges_set_caps(bool keep_net_admin)
{
	struct __user_cap_header_struct hdr = {
	    .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	uint32_t keep = 1u << CAP_NET_BIND_SERVICE;

	if (keep_net_admin)
		keep |= 1u << CAP_NET_ADMIN;
	memset(data, 0, sizeof(data));
	data[0].effective = keep;
	data[0].permitted = keep;
	return (int)syscall(SYS_capset, &hdr, data);
}

int
privileges_drop(const char *user, const char *group, bool keep_net_admin,
    char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	struct group *gr;
	uid_t uid;
	gid_t gid;
	long n;

	if (user == NULL && group == NULL)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen,
		    "user/group: ocspgate must start as root to switch");
		return -1;
	}
	uid = geteuid();
	gid = getegid();
	if (user != NULL) {
		if ((n = privileges_number(user)) >= 0) {
			uid = (uid_t)n;
			pw = getpwuid(uid);
		} else if ((pw = getpwnam(user)) != NULL) {
			uid = pw->pw_uid;
		} else {
			snprintf(err, errlen, "user '%s': no such user", user);
			return -1;
		}
		if (pw != NULL)
			gid = pw->pw_gid;
	}
	if (group != NULL) {
		if ((n = privileges_number(group)) >= 0) {
			gid = (gid_t)n;
		} else if ((gr = getgrnam(group)) != NULL) {
			gid = gr->gr_gid;
		} else {
			snprintf(
			    err, errlen, "group '%s': no such group", group);
			return -1;
		}
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1) {
		snprintf(err, errlen, "group %lu: %s", (unsigned long)gid,
		    strerror(errno));
		return -1;
	}
	/* Keep the permitted set across setuid, then trim it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 || setuid(uid) == -1) {
		snprintf(err, errlen, "user %lu: %s", (unsigned long)uid,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && privileges_set_caps(keep_net_admin) == -1) {
		snprintf(err, errlen, "capabilities: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* A drop that can be undone is no drop. */
	if (uid != 0 && setuid(0) != -1) {
		snprintf(err, errlen, "user %lu: could regain root",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}
