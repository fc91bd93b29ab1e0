/*
 * Calendar dates to seconds since 1970 (see civil.h), by the days-from-
 * civil count of the proleptic Gregorian calendar: no timegm(), which is
 * neither standard C nor free of the time zone's state.
 */
#include <stdbool.h>
#include <string.h>

#include "ocspgate/civil.h"

static int
civil_days_in_month(int year, int month)
{
	static const int days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[month - 1] + (month == 2 && leap);
}

time_t
civil_time(int year, int month, int day, int hour, int min, int sec)
{
	long long y, era, yoe, doy, doe, days;

	if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 ||
	    day > civil_days_in_month(year, month) || hour < 0 || hour > 23 ||
	    min < 0 || min > 59 || sec < 0 || sec > 59)
		return 0;
	y = year - (month <= 2);
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return (time_t)(days * 86400 + hour * 3600 + min * 60 + sec);
}

/* Writes <v> (>= 0) as exactly <n> decimal digits at <out>. */
static void
civil_digits(char *out, unsigned v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
civil_imf_date(int64_t t, char out[CIVIL_IMF_LEN + 1])
{
	static const char wdays[7][4] = {
	    "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* from 1970 */
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	long long days, z, era;
	unsigned doe, yoe, doy, mp, d, m, secs, y;

	if (t < 0 || t >= 253402300800LL) /* 10000-01-01 */
		return -1;
	days = t / 86400;
	secs = (unsigned)(t % 86400);
	/* Civil from days (the inverse of civil_time()). */
	z = days + 719468;
	era = z / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (unsigned)(yoe + era * 400) + (m <= 2);
	memcpy(out, wdays[days % 7], 3);
	memcpy(out + 3, ", ", 2);
	civil_digits(out + 5, d, 2);
	out[7] = ' ';
	memcpy(out + 8, months[m - 1], 3);
	out[11] = ' ';
	civil_digits(out + 12, y, 4);
	out[16] = ' ';
	civil_digits(out + 17, secs / 3600, 2);
	out[19] = ':';
	civil_digits(out + 20, secs / 60 % 60, 2);
	out[22] = ':';
	civil_digits(out + 23, secs % 60, 2);
	memcpy(out + 25, " GMT", 5); /* with the NUL */
	return 0;
}
