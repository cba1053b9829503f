/*
 * args.h: strict parsing of command-line numbers, shared by the synack subcommands.
 */
#ifndef SYNACK_TOOLS_ARGS_H
#define SYNACK_TOOLS_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* A decimal integer in [0, max]: digits only (no sign, blanks or base prefix), the whole
 * string. Returns false on anything else, leaving *out alone. */
bool args_u64(const char *s, uint64_t max, uint64_t *out);

/* A finite decimal number in [min, max]: digits with at most one '.', the whole string (no
 * sign, blanks, exponent, hex, inf or nan). Returns false on anything else. */
bool args_decimal(const char *s, double min, double max, double *out);

#endif /* SYNACK_TOOLS_ARGS_H */
