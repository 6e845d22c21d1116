#ifndef DFKD_CSTDIO_SHIM_H
#define DFKD_CSTDIO_SHIM_H
#include <stdio.h>

/* Swift 6 cannot name the C global `stdout`; this makes it line-buffered, so that lines
   printed to a log file or pipe arrive in order with those of stderr. */
static inline void dfkd_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

/* Sends what is printed to stdout nowhere (ranks other than 0 of a job print nothing). */
static inline int dfkd_discard_stdout(void) { return freopen("/dev/null", "w", stdout) != NULL; }
#endif
