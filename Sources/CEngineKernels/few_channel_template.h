/* The few-channel convolution kernels for one instruction set, compiled once per set through
 * isa_variants.h (which defines SUFFIX, TARGET, WIDTH, VEC, VECU, SPLAT and LANE).
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
 * or NULL; the sums start at `column`, and columns past `width` are not written. */
static inline __attribute__((always_inline)) void NAME(correlate_rows_)(
    const float *source, const float *w, const float *bias, float *destination, int source_channels, int kernel_height,
    int kernel_width, int height, int width, int padded_height, int padded_width, int column, const int G, const int V) {
    const long filter = (long)source_channels * kernel_height * kernel_width;
    const int count = width - column < V * WIDTH ? width - column : V * WIDTH;
    for (int h = 0; h < height; h++) {
        VEC sums[FEW_CHANNEL_GROUP][4];
        for (int g = 0; g < G; g++)
            for (int v = 0; v < V; v++) sums[g][v] = SPLAT(bias ? bias[g] : 0.0f);
        for (int s = 0; s < source_channels; s++) {
            for (int kh = 0; kh < kernel_height; kh++) {
                const float *row = source + ((long)s * padded_height + h + kh) * padded_width + column;
                const float *taps = w + ((long)s * kernel_height + kh) * kernel_width;
                for (int kw = 0; kw < kernel_width; kw++) {
                    VEC x[4];
                    for (int v = 0; v < V; v++) x[v] = LOAD(row + kw + WIDTH * v);
                    for (int g = 0; g < G; g++) {
                        const VEC tap = SPLAT(taps[g * filter + kw]);
                        for (int v = 0; v < V; v++) sums[g][v] += tap * x[v];
                    }
                }
            }
        }
        /* Whole vectors, then the lanes of the last one that lie inside the row. */
        const int whole = count / WIDTH, rest = count % WIDTH;
        for (int g = 0; g < G; g++) {
            float *out = destination + ((long)g * height + h) * width + column;
            for (int v = 0; v < V; v++) {
                if (v < whole) STORE(out + WIDTH * v, sums[g][v]);
                else if (v == whole)
                    for (int l = 0; l < rest; l++) out[WIDTH * v + l] = LANE(sums[g][v], l);
            }
        }
    }
}

/* correlate_rows_ with G and V (1 to 4, G at most FEW_CHANNEL_GROUP) made constants. */
static inline __attribute__((always_inline)) void NAME(correlate_group_)(
    const float *source, const float *w, const float *bias, float *destination, int source_channels, int kernel_height,
    int kernel_width, int height, int width, int padded_height, int padded_width, int column, int G, int V) {
#define ROWS(g, v) NAME(correlate_rows_)(source, w, bias, destination, source_channels, kernel_height, kernel_width, height, \
                                         width, padded_height, padded_width, column, g, v)
#define ROWS_OF_GROUP(g) \
    switch (V) { \
    case 1: ROWS(g, 1); break; \
    case 2: ROWS(g, 2); break; \
    case 3: ROWS(g, 3); break; \
    default: ROWS(g, 4); break; \
    }
    switch (G) {
    case 1: ROWS_OF_GROUP(1); break;
#if FEW_CHANNEL_GROUP >= 2
    case 2: ROWS_OF_GROUP(2); break;
#endif
#if FEW_CHANNEL_GROUP >= 4
    case 3: ROWS_OF_GROUP(3); break;
    case 4: ROWS_OF_GROUP(4); break;
#endif
    }
#undef ROWS_OF_GROUP
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
    /* Groups of equal size (the last may be smaller), each at most FEW_CHANNEL_GROUP. */
    const int groups = (destination_channels + FEW_CHANNEL_GROUP - 1) / FEW_CHANNEL_GROUP;
    const int group = (destination_channels + groups - 1) / groups;
    const long filter = (long)source_channels * kernel_height * kernel_width;
    for (int n = 0; n < batch; n++) {
        const float *in = source + (long)n * source_channels * source_height * source_width;
        for (int s = 0; s < source_channels; s++)
            for (int h = 0; h < source_height; h++)
                NAME(copy_row_)(image + s * padded_plane + (long)(h + top) * padded_width + left,
                                in + ((long)s * source_height + h) * source_width, source_width);
        float *out = destination + (long)n * destination_channels * height * width;
        for (int first = 0; first < destination_channels; first += group) {
            const int G = destination_channels - first < group ? destination_channels - first : group;
            for (int v = 0; v < vectors; v += 4)
                NAME(correlate_group_)(image, w + first * filter, bias ? bias + first : NULL, out + (long)first * height * width,
                                       source_channels, kernel_height, kernel_width, height, width, padded_height,
                                       padded_width, v * WIDTH, G, vectors - v < 4 ? vectors - v : 4);
        }
    }
    free(image);
    return 0;
}

/* The weight gradient of `G` outputs (a constant) from one image, added into `sums` (one
 * vector per weight, its lanes summed at the end). `gradient` holds the G outputs' rows,
 * row_length floats each and zero past the output width. */
static inline __attribute__((always_inline)) void NAME(weight_group_)(
    const float *image, const float *gradient, VEC *sums, int channels, int kernel_height, int kernel_width,
    int output_height, int padded_height, int padded_width, int row_length, const int G) {
    const int vectors = row_length / WIDTH;
    const long plane = (long)output_height * row_length;
    const long filter = (long)channels * kernel_height * kernel_width;
    for (int c = 0; c < channels; c++) {
        for (int kh = 0; kh < kernel_height; kh++) {
            for (int kw = 0; kw < kernel_width; kw++) {
                VEC partial[2 * FEW_CHANNEL_GROUP];
                for (int g = 0; g < G; g++) partial[g] = SPLAT(0.0f);
                for (int h = 0; h < output_height; h++) {
                    const float *x = image + ((long)c * padded_height + h + kh) * padded_width + kw;
                    const float *d = gradient + (long)h * row_length;
                    for (int v = 0; v < vectors; v++) {
                        const VEC xv = LOAD(x + WIDTH * v);
                        for (int g = 0; g < G; g++) partial[g] += LOAD(d + g * plane + WIDTH * v) * xv;
                    }
                }
                VEC *tap = sums + ((long)c * kernel_height + kh) * kernel_width + kw;
                for (int g = 0; g < G; g++) tap[g * filter] += partial[g];
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
    const int groups = (outputs + 2 * FEW_CHANNEL_GROUP - 1) / (2 * FEW_CHANNEL_GROUP);
    const int group = (outputs + groups - 1) / groups;
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
            const int G = outputs - first < group ? outputs - first : group;
            const float *rows = gradient + first * gradient_plane;
            VEC *tap = sums + first * filter;
#define GROUP_OF(g) NAME(weight_group_)(image, rows, tap, channels, kernel_height, kernel_width, output_height, \
                                        padded_height, padded_width, row_length, g)
            switch (G) {
            case 1: GROUP_OF(1); break;
            case 2: GROUP_OF(2); break;
            case 3: GROUP_OF(3); break;
            case 4: GROUP_OF(4); break;
#if FEW_CHANNEL_GROUP >= 4
            case 5: GROUP_OF(5); break;
            case 6: GROUP_OF(6); break;
            case 7: GROUP_OF(7); break;
            case 8: GROUP_OF(8); break;
#endif
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

#undef STORE
#undef LOAD
#undef NAME
#undef CONCAT
#undef CONCAT_
