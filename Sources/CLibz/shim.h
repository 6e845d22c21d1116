#ifndef DFKD_CZLIB_SHIM_H
#define DFKD_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro; Swift sees this function instead. */
static inline int dfkd_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}
#endif
