/* The few-channel convolution kernels for one instruction set, compiled once per set through
 * isa_variants.h (which defines SUFFIX, TARGET, WIDTH, VEC, VECU, SPLAT and LANE); the
 * including few_channel_kernels.c defines what every set shares (FEW_CHANNEL_SUMS,
 * zeroed_floats, group_size, tap_block, min_int).
 *
 * Both sums run along image rows, WIDTH columns per vector, on zero-padded copies of each
 * image (so that no vector needs a bounds check). Each loaded vector serves a group of
 * channels at once, as many as the vector registers hold: loads, not multiplications, bound
 * these kernels otherwise. */

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)
#define NAME(base) CONCAT(base, SUFFIX)
#define LOAD(p) (*(const VECU *)(p))
#define STORE(p, v) (*(VECU *)(p) = (v))
/* The most channels a kernel sums together while each keeps `per_channel` vectors of sums. */
#define LARGEST_GROUP(per_channel) min_int(8, FEW_CHANNEL_SUMS / (per_channel))

/* Copies a row of `count` floats: whole vectors, the last of them ending at the row's end
 * (overlapping the one before), so that no vector writes past the row. */
static inline __attribute__((always_inline)) void NAME(copy_row_)(float *destination, const float *source, int count) {
    if (count < WIDTH) {
        memcpy(destination, source, sizeof(float) * (size_t)count);
        return;
    }
    for (int i = 0; i + WIDTH < count; i += WIDTH) STORE(destination + i, LOAD(source + i));
    STORE(destination + count - WIDTH, LOAD(source + count - WIDTH));
}

/* The sums of the same `G` destination channels over `V` vectors of one output row each,
 * for every row of one image; G and V are constants, so the G x V sums stay in registers.
 * `source` is the padded image (source_channels planes of padded_height x padded_width),
 * `w` the weights (destination, source, kernel_height, kernel_width), `bias` the G biases
 * or NULL; the sums start at `column`. Columns past `width` are not written, but where a
 * row's sums spill onto the next row, which is written after it. */
static inline __attribute__((always_inline)) void NAME(correlate_rows_)(
    const float *source, const float *w, const float *bias, float *destination, int source_channels, int kernel_height,
    int kernel_width, int height, int width, int padded_height, int padded_width, int column, const int G, const int V) {
    const long filter = (long)source_channels * kernel_height * kernel_width;
    const int count = width - column < V * WIDTH ? width - column : V * WIDTH;
    for (int h = 0; h < height; h++) {
        VEC sums[FEW_CHANNEL_SUMS];
        for (int g = 0; g < G; g++)
            for (int v = 0; v < V; v++) sums[g * V + v] = SPLAT(bias ? bias[g] : 0.0f);
        for (int s = 0; s < source_channels; s++) {
            for (int kh = 0; kh < kernel_height; kh++) {
                const float *row = source + ((long)s * padded_height + h + kh) * padded_width + column;
                const float *taps = w + ((long)s * kernel_height + kh) * kernel_width;
                for (int kw = 0; kw < kernel_width; kw++) {
                    VEC x[4];
                    for (int v = 0; v < V; v++) x[v] = LOAD(row + kw + WIDTH * v);
                    for (int g = 0; g < G; g++) {
                        const VEC tap = SPLAT(taps[g * filter + kw]);
                        for (int v = 0; v < V; v++) sums[g * V + v] += tap * x[v];
                    }
                }
            }
        }
        /* Whole vectors, then the lanes of the last one that lie inside the row. Where the
         * row is not the plane's last, the sums span the whole row (one group of columns) and
         * what lies past it fits in the next row, the last vector is stored whole too: the
         * lanes past the row land on the next row, which is written after this one. */
        const int covered = (count + WIDTH - 1) / WIDTH * WIDTH;
        const int spills = column == 0 && h + 1 < height && covered - count <= width;
        const int whole = spills ? covered / WIDTH : count / WIDTH, rest = spills ? 0 : count % WIDTH;
        for (int g = 0; g < G; g++) {
            float *out = destination + ((long)g * height + h) * width + column;
            for (int v = 0; v < V; v++) {
                if (v < whole) STORE(out + WIDTH * v, sums[g * V + v]);
                else if (v == whole)
                    for (int l = 0; l < rest; l++) out[WIDTH * v + l] = LANE(sums[g * V + v], l);
            }
        }
    }
}

/* correlate_rows_ with V (1 to 4) and G (at most LARGEST_GROUP(V)) made constants. */
static inline __attribute__((always_inline)) void NAME(correlate_group_)(
    const float *source, const float *w, const float *bias, float *destination, int source_channels, int kernel_height,
    int kernel_width, int height, int width, int padded_height, int padded_width, int column, int G, int V) {
#define ROWS(g, v) \
    case g: NAME(correlate_rows_)(source, w, bias, destination, source_channels, kernel_height, kernel_width, height, width, \
                                  padded_height, padded_width, column, g, v); break;
    switch (V) {
    case 1: switch (G) { ROWS(1, 1) ROWS(2, 1) ROWS(3, 1) ROWS(4, 1) ROWS(5, 1) ROWS(6, 1) ROWS(7, 1) ROWS(8, 1) } break;
#if FEW_CHANNEL_SUMS >= 16
    case 2: switch (G) { ROWS(1, 2) ROWS(2, 2) ROWS(3, 2) ROWS(4, 2) ROWS(5, 2) ROWS(6, 2) ROWS(7, 2) ROWS(8, 2) } break;
    case 3: switch (G) { ROWS(1, 3) ROWS(2, 3) ROWS(3, 3) ROWS(4, 3) ROWS(5, 3) } break;
    default: switch (G) { ROWS(1, 4) ROWS(2, 4) ROWS(3, 4) ROWS(4, 4) } break;
#else
    case 2: switch (G) { ROWS(1, 2) ROWS(2, 2) ROWS(3, 2) ROWS(4, 2) } break;
    case 3: switch (G) { ROWS(1, 3) ROWS(2, 3) } break;
    default: switch (G) { ROWS(1, 4) ROWS(2, 4) } break;
#endif
    }
#undef ROWS
}

/* A stride-1 cross-correlation of `source` (batch, source_channels, source_height,
 * source_width) with `w` (destination, source, kernel_height, kernel_width) into
 * `destination` (batch, destination_channels, height, width), the source shifted by `top`
 * rows and `left` columns of zeros; plus `bias` where not NULL. */
TARGET __attribute__((unused)) static int NAME(correlate_)(
    const float *source, const float *w, const float *bias, float *destination, int batch, int source_channels,
    int source_height, int source_width, int destination_channels, int kernel_height, int kernel_width, int height,
    int width, int top, int left) {
    const int vectors = (width + WIDTH - 1) / WIDTH;
    const int padded_height = height + kernel_height - 1;
    const int padded_width = vectors * WIDTH + kernel_width - 1;
    const long padded_plane = (long)padded_height * padded_width;
    float *image = zeroed_floats(source_channels * padded_plane);
    if (!image) return -1;
    const long filter = (long)source_channels * kernel_height * kernel_width;
    for (int n = 0; n < batch; n++) {
        const float *in = source + (long)n * source_channels * source_height * source_width;
        for (int s = 0; s < source_channels; s++)
            for (int h = 0; h < source_height; h++)
                NAME(copy_row_)(image + s * padded_plane + (long)(h + top) * padded_width + left,
                                in + ((long)s * source_height + h) * source_width, source_width);
        float *out = destination + (long)n * destination_channels * height * width;
        for (int v = 0; v < vectors; v += 4) {
            const int V = vectors - v < 4 ? vectors - v : 4;
            const int group = group_size(destination_channels, LARGEST_GROUP(V));
            for (int first = 0; first < destination_channels; first += group)
                NAME(correlate_group_)(image, w + first * filter, bias ? bias + first : NULL, out + (long)first * height * width,
                                       source_channels, kernel_height, kernel_width, height, width, padded_height,
                                       padded_width, v * WIDTH, min_int(group, destination_channels - first), V);
        }
    }
    free(image);
    return 0;
}

/* The weight gradient of `G` outputs from one image, `KB` neighbouring taps of a kernel row
 * at a time (both constants, kernel_width a multiple of KB): each loaded vector of the image
 * serves the G outputs and each loaded gradient vector the KB taps, and the G x KB sums stay
 * in registers. They are added into `sums` (one vector per weight, its lanes summed at the
 * end). `gradient` holds the G outputs' rows, row_length floats each and zero past the output
 * width. */
static inline __attribute__((always_inline)) void NAME(weight_group_)(
    const float *image, const float *gradient, VEC *sums, int channels, int kernel_height, int kernel_width,
    int output_height, int padded_height, int padded_width, int row_length, const int G, const int KB) {
    const int vectors = row_length / WIDTH;
    const long plane = (long)output_height * row_length;
    const long filter = (long)channels * kernel_height * kernel_width;
    for (int c = 0; c < channels; c++) {
        for (int kh = 0; kh < kernel_height; kh++) {
            for (int kw = 0; kw < kernel_width; kw += KB) {
                VEC partial[FEW_CHANNEL_SUMS];
                for (int i = 0; i < G * KB; i++) partial[i] = SPLAT(0.0f);
                for (int h = 0; h < output_height; h++) {
                    const float *x = image + ((long)c * padded_height + h + kh) * padded_width + kw;
                    const float *d = gradient + (long)h * row_length;
                    for (int v = 0; v < vectors; v++) {
                        VEC xs[5];
                        for (int k = 0; k < KB; k++) xs[k] = LOAD(x + k + WIDTH * v);
                        for (int g = 0; g < G; g++) {
                            const VEC dv = LOAD(d + g * plane + WIDTH * v);
                            for (int k = 0; k < KB; k++) partial[g * KB + k] += dv * xs[k];
                        }
                    }
                }
                VEC *tap = sums + ((long)c * kernel_height + kh) * kernel_width + kw;
                for (int g = 0; g < G; g++)
                    for (int k = 0; k < KB; k++) tap[g * filter + k] += partial[g * KB + k];
            }
        }
    }
}

/* The weight gradient (and, where `db` is not NULL, the bias gradient) of a stride-1
 * convolution of x (batch, channels, height, width) into dy (batch, outputs, output_height,
 * output_width), padded by `padding` on every side. */
TARGET __attribute__((unused)) static int NAME(weight_gradient_)(
    const float *x, const float *dy, float *dw, float *db, int batch, int channels, int height, int width, int outputs,
    int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    const int vectors = (output_width + WIDTH - 1) / WIDTH;
    const int row_length = vectors * WIDTH;
    const int padded_width = row_length + kernel_width - 1;
    const int padded_height = output_height + kernel_height - 1;
    const long padded_plane = (long)padded_height * padded_width;
    const long gradient_plane = (long)output_height * row_length;
    const long weights = (long)outputs * channels * kernel_height * kernel_width;
    float *image = zeroed_floats(channels * padded_plane);
    float *gradient = zeroed_floats(outputs * gradient_plane);
    VEC *sums = (VEC *)zeroed_floats((weights + outputs) * WIDTH);
    if (!image || !gradient || !sums) {
        free(image);
        free(gradient);
        free(sums);
        return -1;
    }
    VEC *bias_sums = sums + weights;
    const int taps = tap_block(kernel_width);
    const int group = group_size(outputs, LARGEST_GROUP(taps));
    const long filter = (long)channels * kernel_height * kernel_width;
    for (int n = 0; n < batch; n++) {
        for (int c = 0; c < channels; c++)
            for (int h = 0; h < height; h++)
                NAME(copy_row_)(image + c * padded_plane + (long)(h + padding) * padded_width + padding,
                                x + (((long)n * channels + c) * height + h) * width, width);
        for (int o = 0; o < outputs; o++)
            for (int h = 0; h < output_height; h++)
                NAME(copy_row_)(gradient + o * gradient_plane + (long)h * row_length,
                                dy + (((long)n * outputs + o) * output_height + h) * output_width, output_width);
        /* Summed once the copies are done: loads right behind the copies' stores would wait for them. */
        for (int o = 0; o < outputs; o++)
            for (long i = 0; i < gradient_plane; i += WIDTH) bias_sums[o] += LOAD(gradient + o * gradient_plane + i);
        for (int first = 0; first < outputs; first += group) {
            const int G = min_int(group, outputs - first);
            const float *rows = gradient + first * gradient_plane;
            VEC *tap = sums + first * filter;
#define GROUP_OF(g, kb) \
    case g: NAME(weight_group_)(image, rows, tap, channels, kernel_height, kernel_width, output_height, padded_height, \
                                padded_width, row_length, g, kb); break;
            switch (taps) {
            case 5:
                switch (G) {
                GROUP_OF(1, 5)
#if FEW_CHANNEL_SUMS >= 15
                GROUP_OF(2, 5) GROUP_OF(3, 5)
#endif
                }
                break;
            case 3:
                switch (G) {
                GROUP_OF(1, 3) GROUP_OF(2, 3)
#if FEW_CHANNEL_SUMS >= 15
                GROUP_OF(3, 3) GROUP_OF(4, 3) GROUP_OF(5, 3)
#endif
                }
                break;
            default:
                switch (G) { GROUP_OF(1, 1) GROUP_OF(2, 1) GROUP_OF(3, 1) GROUP_OF(4, 1) GROUP_OF(5, 1) GROUP_OF(6, 1) GROUP_OF(7, 1) GROUP_OF(8, 1) }
                break;
            }
#undef GROUP_OF
        }
    }
    for (long t = 0; t < weights + outputs; t++) {
        float total = 0.0f;
        for (int l = 0; l < WIDTH; l++) total += LANE(sums[t], l);
        if (t < weights) dw[t] = total;
        else if (db) db[t - weights] = total;
    }
    free(image);
    free(gradient);
    free(sums);
    return 0;
}

#undef LARGEST_GROUP
#undef STORE
#undef LOAD
#undef NAME
#undef CONCAT
#undef CONCAT_
