/*
 * Calendar dates: the seconds since 1970 of a UTC date and time, for the
 * dates ocspgate reads out of DER and out of its own facts.
 * Pure: no I/O, no globals, no time zone.
 */
#ifndef OCSPGATE_CIVIL_H
#define OCSPGATE_CIVIL_H

#include <stdint.h>
#include <time.h>

#define CIVIL_IMF_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/*
 * Seconds since 1970-01-01T00:00:00Z of <year>-<month>-<day>
 * <hour>:<min>:<sec> UTC (proleptic Gregorian), or 0 when a field is out
 * of its range (a day the month does not have, a leap second) or the
 * time is not after 1970 or not before 10000.
 */
time_t civil_time(int year, int month, int day, int hour, int min, int sec);

/*
 * Writes <t> (seconds since 1970) as an IMF-fixdate (RFC 9110 5.6.7),
 * CIVIL_IMF_LEN bytes and a NUL, into <out>: without gmtime_r() or
 * snprintf(), for the dates of every answer's head. Returns 0, or -1
 * for a time before 1970 or from 10000 on.
 */
int civil_imf_date(int64_t t, char out[CIVIL_IMF_LEN + 1]);

#endif
