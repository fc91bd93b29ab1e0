/*
 * Calendar dates: the seconds since 1970 of a UTC date and time, for the
 * dates ocspgate reads out of DER and out of its own facts.
 * Pure: no I/O, no globals, no time zone.
 */
#ifndef OCSPGATE_CIVIL_H
#define OCSPGATE_CIVIL_H

#include <time.h>

/*
 * Seconds since 1970-01-01T00:00:00Z of <year>-<month>-<day>
 * <hour>:<min>:<sec> UTC (proleptic Gregorian), or 0 when a field is out
 * of its range (a day the month does not have, a leap second) or the
 * time is not after 1970 or not before 10000.
 */
time_t civil_time(int year, int month, int day, int hour, int min, int sec);

#endif
