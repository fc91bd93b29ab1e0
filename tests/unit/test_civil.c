/*
 * Unit tests for civil.c: dates against timegm()'s and gmtime_r()'s
 * (the C library's count), at the edges of months, leap years and the range;
 * fields out of range give 0.
 */
#define _DEFAULT_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ocspgate/civil.h"

static const struct {
	int y, mo, d, h, mi, s;
	time_t want;
} cases[] = {
    {1970, 1, 1, 0, 0, 0, 0}, /* the epoch itself: "not after 1970" */
    {1970, 1, 1, 0, 0, 1, 1}, {1994, 11, 6, 8, 49, 37, 784111777},
    {2000, 2, 29, 12, 0, 0, 951825600}, {2025, 6, 16, 17, 56, 11, 1750096571},
    {9999, 12, 31, 23, 59, 59, 253402300799}, {1969, 12, 31, 23, 59, 59, 0},
    {10000, 1, 1, 0, 0, 0, 0}, {2023, 2, 29, 0, 0, 0, 0}, /* not a leap year */
    {1900, 2, 29, 0, 0, 0, 0}, /* nor this: before 1970 anyway */
    {2023, 4, 31, 0, 0, 0, 0}, {2023, 13, 1, 0, 0, 0, 0},
    {2023, 0, 1, 0, 0, 0, 0}, {2023, 1, 0, 0, 0, 0, 0},
    {2023, 1, 1, 24, 0, 0, 0}, {2023, 1, 1, 0, 60, 0, 0},
    {2016, 12, 31, 23, 59, 60, 0}, /* a leap second */
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECKF(
		    civil_time(cases[i].y, cases[i].mo, cases[i].d, cases[i].h,
		        cases[i].mi, cases[i].s) == cases[i].want,
		    "case %zu: %04d-%02d-%02d", i, cases[i].y, cases[i].mo,
		    cases[i].d);
	/* Every day of 1970..2100 at noon, as the C library counts it. */
	for (int y = 1970; y <= 2100; y++) {
		for (int mo = 1; mo <= 12; mo++) {
			for (int d = 1; d <= 31; d++) {
				struct tm tm;
				time_t got = civil_time(y, mo, d, 12, 0, 0),
				       want;

				memset(&tm, 0, sizeof(tm));
				tm.tm_year = y - 1900;
				tm.tm_mon = mo - 1;
				tm.tm_mday = d;
				tm.tm_hour = 12;
				want = timegm(&tm);
				gmtime_r(&want, &tm);
				if (tm.tm_mday != d)
					want =
					    0; /* the month has no such day */
				if (got != want) {
					CHECKF(
					    false, "%04d-%02d-%02d", y, mo, d);
					return check_done();
				}
			}
		}
	}
	/* IMF-fixdates, as gmtime_r() and strftime() write them, a day and
	 * a second apart over the range. */
	for (int64_t t = 0; t < 253402300800LL; t += 86400 * 37 + 3601) {
		char got[CIVIL_IMF_LEN + 1], want[64];
		time_t tt = (time_t)t;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (civil_imf_date(t, got) != 0 || strcmp(got, want) != 0) {
			CHECKF(false, "%lld: %s, want %s", (long long)t, got,
			    want);
			break;
		}
	}
	{
		char out[CIVIL_IMF_LEN + 1];

		CHECK(civil_imf_date(-1, out) == -1);
		CHECK(civil_imf_date(253402300800LL, out) == -1);
		CHECK(civil_imf_date(253402300799LL, out) == 0 &&
		    strcmp(out, "Fri, 31 Dec 9999 23:59:59 GMT") == 0);
	}
	return check_done();
}
