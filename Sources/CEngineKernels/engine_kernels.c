#include "engine_kernels.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Atomic int avx2_allowed = 1;

void dfkd_engine_kernels_allow_avx2(int allowed) { avx2_allowed = allowed; }

int dfkd_engine_kernels_use_avx2(void) {
    __builtin_cpu_init();
    return avx2_allowed && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* DNNL_MAX_CPU_ISA below AVX-512 (AVX2, say) keeps oneDNN off its AVX-512 kernels; the
 * engine's follow it, so that one variable makes an AVX-512 machine compute as an AVX2 one. */
static int isa_cap_allows_avx512(void) {
    static _Atomic int cached = -1;
    if (cached < 0) {
        const char *cap = getenv("DNNL_MAX_CPU_ISA");
        cached = !cap || !*cap || strncasecmp(cap, "avx512", 6) == 0 || strcasecmp(cap, "all") == 0 || strncasecmp(cap, "amx", 3) == 0;
    }
    return cached;
}

static _Atomic int avx512_allowed = 1;

void dfkd_engine_kernels_allow_avx512(int allowed) { avx512_allowed = allowed; }

int dfkd_engine_kernels_use_avx512(void) {
    return avx512_allowed && dfkd_engine_kernels_use_avx2() && __builtin_cpu_supports("avx512f") && isa_cap_allows_avx512();
}
