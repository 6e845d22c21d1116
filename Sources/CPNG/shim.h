#ifndef DFKD_CPNG_SHIM_H
#define DFKD_CPNG_SHIM_H
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Frees libpng's state; on failure (result NULL) copies libpng's reason into `message`. */
static inline void *dfkd_png_finish(png_image *image, void *result, char *message, size_t message_capacity) {
    if (!result && message_capacity > 0) {
        strncpy(message, image->message[0] ? image->message : "out of memory", message_capacity - 1);
        message[message_capacity - 1] = 0;
    }
    png_image_free(image);
    return result;
}

/* Encodes 8-bit grey (channels 1) or RGB (channels 3) pixels, rows top to bottom, as a PNG
   in memory through libpng's simplified API (its image struct and version macro are not
   usable from Swift). Returns a malloc'd buffer the caller frees, or NULL with the reason
   copied into `message`. */
static inline void *dfkd_png_encode(const unsigned char *pixels, unsigned width, unsigned height, unsigned channels,
                                    size_t *size, char *message, size_t message_capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    void *buffer = NULL;
    *size = 0;
    if (png_image_write_to_memory(&image, NULL, size, 0, pixels, 0, NULL) && *size > 0) {
        buffer = malloc(*size);
        if (buffer && !png_image_write_to_memory(&image, buffer, size, 0, pixels, 0, NULL)) {
            free(buffer);
            buffer = NULL;
        }
    }
    return dfkd_png_finish(&image, buffer, message, message_capacity);
}

/* Decodes a PNG file to 8-bit grey (channels 1) or RGB (channels 3) pixels into a malloc'd
   buffer the caller frees; NULL with the reason in `message` on failure. */
static inline unsigned char *dfkd_png_decode(const char *path, unsigned channels, unsigned *width, unsigned *height,
                                             char *message, size_t message_capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    unsigned char *pixels = NULL;
    if (png_image_begin_read_from_file(&image, path)) {
        image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
        pixels = malloc(PNG_IMAGE_SIZE(image));
        if (pixels && png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
            *width = image.width;
            *height = image.height;
        } else {
            free(pixels);
            pixels = NULL;
        }
    }
    return dfkd_png_finish(&image, pixels, message, message_capacity);
}
#endif
