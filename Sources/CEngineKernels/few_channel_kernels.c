#include "engine_kernels.h"

#include <stdlib.h>
#include <string.h>

/* Vectors of sums a kernel keeps in registers: what the 32 AVX-512 registers, or the 16 AVX2
 * ones, hold beside the vectors loaded for them. */
#define FEW_CHANNEL_SUMS (WIDTH == 16 ? 16 : 8)

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* Groups of `count` channels of equal size (the last may be smaller), none above `largest`. */
static inline int group_size(int count, int largest) {
    const int groups = (count + largest - 1) / largest;
    return (count + groups - 1) / groups;
}

/* Taps of a kernel row that the weight gradient sums together: the whole row where it is 3
 * or 5 wide, else one at a time. */
static inline int tap_block(int kernel_width) { return kernel_width == 3 || kernel_width == 5 ? kernel_width : 1; }

/* Zeroed work memory on a cache line boundary: vectors loaded whole from rows of a multiple
 * of their width then never straddle two lines, which would cost two loads each. */
static float *zeroed_floats(long count) {
    const size_t bytes = ((size_t)count * sizeof(float) + 63) / 64 * 64;
    float *memory = aligned_alloc(64, bytes ? bytes : 64);
    if (memory) memset(memory, 0, bytes);
    return memory;
}

#define KERNEL_TEMPLATE "few_channel_template.h"
#include "isa_variants.h"

/* Any lane count that is a multiple of 16 asks for the widest variant this CPU may run. */
#define WIDEST dfkd_widest_variant(16)

int dfkd_few_channel_forward(const float *x, const float *w, const float *bias, float *y, int batch, int channels, int height,
                             int width, int outputs, int kernel_height, int kernel_width, int output_height, int output_width,
                             int padding) {
#define FORWARD(suffix) correlate_##suffix(x, w, bias, y, batch, channels, height, width, outputs, kernel_height, kernel_width, \
                                           output_height, output_width, padding, padding)
    switch (WIDEST) {
    case DFKD_AVX512: return FORWARD(avx512);
    case DFKD_AVX2: return FORWARD(avx2);
    default: return FORWARD(generic);
    }
#undef FORWARD
}

int dfkd_few_channel_input_gradient(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                                    int outputs, int kernel_height, int kernel_width, int output_height, int output_width,
                                    int padding) {
    /* The forward correlation of dy with the weights transposed to (input, output) and
     * flipped, dy padded by kernel - 1 - padding. */
    const long taps = (long)kernel_height * kernel_width;
    float *swapped = malloc(sizeof(float) * (size_t)(outputs * channels * taps));
    if (!swapped) return -1;
    for (int o = 0; o < outputs; o++)
        for (int c = 0; c < channels; c++)
            for (long t = 0; t < taps; t++)
                swapped[((long)c * outputs + o) * taps + taps - 1 - t] = w[((long)o * channels + c) * taps + t];
#define INPUT_GRADIENT(suffix) correlate_##suffix(dy, swapped, NULL, dx, batch, outputs, output_height, output_width, channels, \
                                                  kernel_height, kernel_width, height, width, kernel_height - 1 - padding, \
                                                  kernel_width - 1 - padding)
    int status;
    switch (WIDEST) {
    case DFKD_AVX512: status = INPUT_GRADIENT(avx512); break;
    case DFKD_AVX2: status = INPUT_GRADIENT(avx2); break;
    default: status = INPUT_GRADIENT(generic); break;
    }
#undef INPUT_GRADIENT
    free(swapped);
    return status;
}

int dfkd_few_channel_weight_gradient(const float *x, const float *dy, float *dw, float *db, int batch, int channels, int height,
                                     int width, int outputs, int kernel_height, int kernel_width, int output_height,
                                     int output_width, int padding) {
#define WEIGHT_GRADIENT(suffix) weight_gradient_##suffix(x, dy, dw, db, batch, channels, height, width, outputs, kernel_height, \
                                                         kernel_width, output_height, output_width, padding)
    switch (WIDEST) {
    case DFKD_AVX512: return WEIGHT_GRADIENT(avx512);
    case DFKD_AVX2: return WEIGHT_GRADIENT(avx2);
    default: return WEIGHT_GRADIENT(generic);
    }
#undef WEIGHT_GRADIENT
}
