/*
 * Calendar dates to seconds since 1970 (see civil.h), by the days-from-
 * civil count of the proleptic Gregorian calendar: no timegm(), which is
 * neither standard C nor free of the time zone's state.
 */
#include <stdbool.h>

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
