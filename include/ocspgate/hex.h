/*
 * Hexadecimal digits, the one reader every parser uses.
 * Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_HEX_H
#define OCSPGATE_HEX_H

/* The value of hex digit <c> (either case), or -1. */
int hex_value(int c);

#endif
