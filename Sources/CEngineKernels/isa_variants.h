/* Compiles the template named by KERNEL_TEMPLATE once per instruction set, defining before
 * each inclusion:
 *   SUFFIX       appended to the kernels' names: avx512, avx2, generic, scalar
 *   TARGET       the target attribute of the kernels (or nothing)
 *   WIDTH        floats per vector (16, 8, 8 as two SSE registers, 1)
 *   VEC, VECU    the vector type, and its variant for loads and stores at any float offset
 *   MASK         the type of a comparison of two VECs
 *   SELECT(m, a, b)  lane-wise a where m is set, else b
 *   SPLAT(s)     a VEC with every lane s
 *   LANES(l)     the lanes l, or a constant 1 in the scalar variant (plain tensors): with it
 *                the compiler vectorises loops along the row instead
 *   LANE(v, l)   lane l of a VEC (the value itself in the scalar variant)
 * Vectors never cross a function boundary in the templates, so the calling convention never
 * depends on the target. */

typedef float dfkd_f16 __attribute__((vector_size(64)));
typedef float dfkd_f16u __attribute__((vector_size(64), aligned(4)));
typedef int dfkd_i16 __attribute__((vector_size(64)));
typedef float dfkd_f8 __attribute__((vector_size(32)));
typedef float dfkd_f8u __attribute__((vector_size(32), aligned(4)));
typedef int dfkd_i8 __attribute__((vector_size(32)));

#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define WIDTH 16
#define VEC dfkd_f16
#define VECU dfkd_f16u
#define MASK dfkd_i16
#define SELECT(m, a, b) ((dfkd_f16)(((m) & (dfkd_i16)(a)) | (~(m) & (dfkd_i16)(b))))
#define SPLAT(s) ((dfkd_f16){0} + (s))
#define LANES(l) (l)
#define LANE(v, l) ((v)[l])
#include KERNEL_TEMPLATE
#include "isa_variant_end.h"

#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#define WIDTH 8
#define VEC dfkd_f8
#define VECU dfkd_f8u
#define MASK dfkd_i8
#define SELECT(m, a, b) ((dfkd_f8)(((m) & (dfkd_i8)(a)) | (~(m) & (dfkd_i8)(b))))
#define SPLAT(s) ((dfkd_f8){0} + (s))
#define LANES(l) (l)
#define LANE(v, l) ((v)[l])
#include KERNEL_TEMPLATE
/* The same eight lanes on generic x86-64, as two SSE registers. */
#undef SUFFIX
#undef TARGET
#define SUFFIX generic
#define TARGET
#include KERNEL_TEMPLATE
#include "isa_variant_end.h"

#define SUFFIX scalar
#define TARGET
#define WIDTH 1
#define VEC float
#define VECU float
#define MASK int
#define SELECT(m, a, b) ((m) ? (a) : (b))
#define SPLAT(s) ((float)(s))
#define LANES(l) 1
#define LANE(v, l) (v)
#include KERNEL_TEMPLATE
#include "isa_variant_end.h"

/* The widest variant for tensors of `lanes` lanes per pixel (1 for plain NCHW). */
enum dfkd_variant { DFKD_SCALAR, DFKD_GENERIC, DFKD_AVX2, DFKD_AVX512 };

static inline enum dfkd_variant dfkd_widest_variant(int lanes) {
    if (lanes % 8 != 0) return DFKD_SCALAR;
    if (!dfkd_engine_kernels_use_avx2()) return DFKD_GENERIC;
    return lanes % 16 == 0 && dfkd_engine_kernels_use_avx512() ? DFKD_AVX512 : DFKD_AVX2;
}
